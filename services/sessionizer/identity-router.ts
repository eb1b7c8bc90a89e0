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
import type { createIdentityTable } from './identity-table.js';

export interface IdentityRouterDeps {
  topics: Topics;
  table: ReturnType<typeof createIdentityTable>;
  producer: RecordProducer;
  touchpointCodec: Codec<Touchpoint>;
  recordCodec: Codec<JourneyRecord>;
  linkOptions: LinkOptions;
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

  const record = (r: JourneyRecord): OutgoingRecord => ({ topic: deps.topics.identifiedTouchpoints, key: r.customerId, value: deps.recordCodec.encode(r) });

  const route = (message: KafkaMessage, out: OutgoingRecord[], linkEntries: Map<string, string>) => {
    let tp: Touchpoint;
    try {
      if (!message.value) throw new Error('empty message value');
      tp = deps.touchpointCodec.decode(message.value);
    } catch (error) {
      dead.inc();
      out.push(deadLetterRecord(deps.topics.deadLetter, { topic: deps.topics.touchpoints, stage: 'sessionizer', message }, (error as Error).message, deps.now()));
      return;
    }
    for (const link of linksFrom(tp, deps.linkOptions)) {
      const result = deps.table.apply(link);
      for (const [id, parent] of deps.table.entriesFor([link.a, link.b])) linkEntries.set(id, parent);
      if (result.merged) {
        merges.inc();
        for (const [id, parent] of deps.table.entriesFor([result.absorbed])) linkEntries.set(id, parent);
        out.push(record({ kind: 'merge', customerId: result.absorbed, touchpoint: null, mergeInto: result.survivor, mergedFrom: null, state: null }));
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
    async onAssigned() {
      await deps.table.caughtUp();
    },
    async handleBatch(batch: PartitionBatch) {
      const out: OutgoingRecord[] = [];
      const linkEntries = new Map<string, string>();
      for (const message of batch.messages) route(message, out, linkEntries);
      // Links first in the same send: the table topic has them no later than the re-keyed events.
      const links: OutgoingRecord[] = [...linkEntries].map(([id, parent]) => ({ topic: deps.topics.identityLinks, key: id, value: Buffer.from(parent) }));
      await deps.producer.send([...links, ...out]);
      const last = batch.messages[batch.messages.length - 1];
      return last ? { offset: (BigInt(last.offset) + 1n).toString() } : null;
    },
  };
}
