import type { KafkaMessage } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import type { Codec } from '../../schemas/codec.js';
import type { JourneyRecord } from '../../schemas/journey.js';
import type { Touchpoint } from '../../schemas/touchpoint.js';
import type { Topics } from '../../schemas/topics.js';
import type { PartitionBatch, PartitionHandler } from '../platform/kafka/consumer.js';
import type { OutgoingRecord, RecordProducer } from '../platform/kafka/producer.js';
import { deadLetterRecord } from '../platform/pipeline/dead-letter.js';
import { linksFrom, type LinkOptions } from './core/identity.js';
import { RecentMessages } from './core/recent-messages.js';
import type { createIdentityTable } from './identity-table.js';

export interface IdentityRouterDeps {
  topics: Topics;
  table: ReturnType<typeof createIdentityTable>;
  producer: RecordProducer;
  touchpointCodec: Codec<Touchpoint>;
  recordCodec: Codec<JourneyRecord>;
  linkOptions: LinkOptions;
  /** How many recent messageIds each partition remembers to drop retries before routing. */
  recentMessagesPerPartition: number;
  registry: Registry;
  now: () => number;
}

/**
 * Stage one of the sessionizer: resolve each touchpoint to its customer and re-key it by customer id
 * onto `identified-touchpoints` (Kafka Streams' repartition step). New links go to the identity
 * table topic; a link that merges two customers sends a `merge` notice to the absorbed customer's
 * owner, which hands its state to the survivor's owner (see sessions-processor.ts).
 */
export function createIdentityRouter(deps: IdentityRouterDeps): PartitionHandler {
  const routed = new Counter({ name: 'sessionizer_touchpoints_routed_total', help: 'Touchpoints re-keyed by customer', registers: [deps.registry] });
  const merges = new Counter({ name: 'sessionizer_identity_merges_total', help: 'Customers merged by identity links', registers: [deps.registry] });
  const dead = new Counter({ name: 'sessionizer_dead_letters_total', help: 'Undecodable touchpoints', registers: [deps.registry] });
  const retries = new Counter({ name: 'sessionizer_router_duplicates_total', help: 'Touchpoints dropped by the router as recent duplicates (SDK retries)', registers: [deps.registry] });
  const recent = new Map<number, RecentMessages>();

  const record = (r: JourneyRecord): OutgoingRecord => ({ topic: deps.topics.identifiedTouchpoints, key: r.customerId, value: deps.recordCodec.encode(r) });

  /**
   * Links and merge notices of sends that failed. The in-memory graph already holds those links,
   * so the retried batch would find nothing new to link: they are re-sent with it instead.
   */
  let unsentControl: OutgoingRecord[] = [];

  const route = (message: KafkaMessage, out: OutgoingRecord[], control: OutgoingRecord[], linkEntries: Map<string, string>, seen: RecentMessages) => {
    let tp: Touchpoint;
    try {
      if (!message.value) throw new Error('empty message value');
      tp = deps.touchpointCodec.decode(message.value);
    } catch (error) {
      dead.inc();
      out.push(deadLetterRecord(deps.topics.deadLetter, { topic: deps.topics.touchpoints, stage: 'sessionizer', message }, (error as Error).message, deps.now()));
      return;
    }
    if (seen.seenBefore(tp.messageId)) {
      retries.inc(); // a drop, not a loss: the first copy went on
      return;
    }
    for (const link of linksFrom(tp, deps.linkOptions)) {
      const result = deps.table.apply(link);
      for (const [id, parent] of deps.table.entriesFor([link.a, link.b])) linkEntries.set(id, parent);
      if (result.merged) {
        merges.inc();
        for (const [id, parent] of deps.table.entriesFor([result.absorbed])) linkEntries.set(id, parent);
        control.push(record({ kind: 'merge', customerId: result.absorbed, touchpoint: null, mergeInto: result.survivor, mergedFrom: null, state: null }));
      }
    }
    const customerId = deps.table.graph.customerIdFor(tp);
    routed.inc();
    out.push(
      record({
        kind: 'touchpoint',
        customerId,
        touchpoint: { customerId, accountId: tp.groupId, sessionId: '', late: false, touchpoint: tp },
        mergeInto: null,
        mergedFrom: null,
        state: null,
      }),
    );
  };

  return {
    async onAssigned(tp) {
      recent.delete(tp.partition);
      await deps.table.caughtUp();
    },
    async handleBatch(batch: PartitionBatch) {
      const out: OutgoingRecord[] = [];
      const merges: OutgoingRecord[] = [];
      const linkEntries = new Map<string, string>();
      let seen = recent.get(batch.partition);
      if (!seen) recent.set(batch.partition, (seen = new RecentMessages(deps.recentMessagesPerPartition)));
      for (const message of batch.messages) route(message, out, merges, linkEntries, seen);
      // Links and merge notices first in the same send: the table topic has the links no later than
      // the re-keyed events, and a merge notice precedes the survivor's events routed after it.
      const links: OutgoingRecord[] = [...linkEntries].map(([id, parent]) => ({ topic: deps.topics.identityLinks, key: id, value: Buffer.from(parent) }));
      const control = [...unsentControl, ...links, ...merges];
      try {
        await deps.producer.send([...control, ...out]);
      } catch (error) {
        seen.rollback(); // the batch will be handled again: its ids must not count as seen
        unsentControl = control;
        throw error;
      }
      unsentControl = [];
      seen.commit();
      const last = batch.messages[batch.messages.length - 1];
      return last ? { offset: (BigInt(last.offset) + 1n).toString() } : null;
    },
  };
}
