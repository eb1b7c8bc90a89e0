import type { OutgoingRecord } from '../../services/platform/kafka/producer.js';
import { IdentityGraph } from '../../services/sessionizer/core/identity.js';
import { IdentityView } from '../../services/sessionizer/core/identity-view.js';
import { ForgottenIds } from '../../services/platform/privacy/forgotten-ids.js';
import { type createIdentityTable } from '../../services/sessionizer/identity-table.js';

/**
 * The identity table without its Kafka reader: the same graph (durable part and this instance's
 * links not read back yet), applied in memory. `fromTopic`
 * rebuilds what a restarted instance would read: the identity-links records that were sent (to
 * `identityLinksTopic`). Router markers are read by their keys (routerMarkerKey).
 */
export function identityTableInMemory(
  identityLinksTopic: string,
  fromTopic: OutgoingRecord[] = [],
): ReturnType<typeof createIdentityTable> & { applyFromTopic(key: string, value: string): void } {
  const graph = new IdentityView(new IdentityGraph());
  const markers = new Map<string, { offset: bigint; watermark: number | null }>();
  for (const r of fromTopic.filter((x) => x.topic === identityLinksTopic)) {
    const key = String(r.key);
    const [offset, watermark] = String(r.value).split('@');
    if (key.startsWith('@router-applied:')) markers.set(key, { offset: BigInt(offset!), watermark: watermark === undefined ? null : Number(watermark) });
    else graph.durable.applyEntry(key, String(r.value));
  }
  return {
    catchUpToEnd: async () => {},
    appliedOffset: (marker) => markers.get(marker)?.offset ?? null,
    appliedWatermark: (marker) => markers.get(marker)?.watermark ?? null,
    markApplied: (marker, offset, watermark) => void markers.set(marker, { offset, watermark }),
    name: 'identity-table',
    graph,
    forgotten: new ForgottenIds(),
    apply: (link) => graph.apply(link),
    entriesFor: (ids) => ids.flatMap((id) => (graph.entryOf(id) === undefined ? [] : [[id, graph.entryOf(id)!] as [string, string]])),
    /** What the table's reader does with a link entry it reads from the topic. */
    applyFromTopic(key, value) {
      graph.durable.applyEntry(key, value);
      graph.refresh();
    },
    caughtUp: async () => {},
    start: async () => {},
    stop: async () => {},
    health: () => ({ ok: true, details: {} }),
  };
}
