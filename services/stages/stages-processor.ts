import type { KafkaMessage } from 'kafkajs';
import type { Codec } from '../../schemas/codec.js';
import type { ChurnScore, FunnelEvent, JourneyRecord, StageTransition } from '../../schemas/journey.js';
import type { Topics } from '../../schemas/topics.js';
import type { OutgoingRecord } from '../platform/kafka/producer.js';
import { deadLetterRecord } from '../platform/pipeline/dead-letter.js';
import { MergeBarrier, type MergeWaitLimits } from '../platform/streams/merge-barrier.js';
import { MergeLedger } from '../platform/streams/merge-ledger.js';
import type { PartitionProcessor, StateUpdate } from '../platform/streams/stateful-handler.js';
import { StagesPartition, type StagesPartitionOptions } from './core/processor.js';
import { decodeJourneyState, encodeJourneyState } from './core/state-codec.js';

export interface StagesCodecs {
  record: Codec<JourneyRecord>;
  transition: Codec<StageTransition>;
  funnel: Codec<FunnelEvent>;
  churn: Codec<ChurnScore>;
}

export interface StagesProcessorDeps {
  topics: Topics;
  codecs: StagesCodecs;
  options: StagesPartitionOptions;
  /** Bounds the time-driven work of one tick so a backlog of silent customers cannot stall input. */
  tickLimit: number;
  /** How long (processing time) and for how many records a survivor waits for an absorbed state. */
  mergeWait: MergeWaitLimits;
  counters: {
    touchpoints(): void;
    repeats(): void;
    transitions(n: number): void;
    churnAlerts(n: number): void;
    deadLetter(): void;
    mergeWaitsExpired(n: number): void;
  };
  now: () => number;
}

/**
 * The stages service per partition of `customer-touchpoints`: stage machine, funnel and churn in
 * StagesPartition; this adapter only decodes, encodes and runs the identity-merge protocol for the
 * journey state (export on `merge`, import on `transfer`, as the sessionizer does for sessions).
 */
export function createStagesProcessor(deps: StagesProcessorDeps): PartitionProcessor & { partition: StagesPartition } {
  const partition = new StagesPartition(deps.options);
  const exported = new MergeLedger('exp:');
  const barrier = new MergeBarrier(deps.mergeWait);
  const { topics, codecs } = deps;

  const emit = (out: { transitions: StageTransition[]; funnel: FunnelEvent[]; churn: ChurnScore[] }): OutgoingRecord[] => {
    deps.counters.transitions(out.transitions.length);
    const records: OutgoingRecord[] = [
      ...out.transitions.map((t) => ({ topic: topics.stageTransitions, key: t.customerId, value: codecs.transition.encode(t) })),
      ...out.funnel.map((f) => ({ topic: topics.funnelEvents, key: f.customerId, value: codecs.funnel.encode(f) })),
    ];
    for (const c of out.churn) {
      const value = codecs.churn.encode(c);
      records.push({ topic: topics.churnScores, key: c.customerId, value });
      if (c.crossedThreshold) records.push({ topic: topics.churnAlerts, key: c.customerId, value });
    }
    deps.counters.churnAlerts(out.churn.filter((c) => c.crossedThreshold).length);
    return records;
  };

  /** Records a survivor held while it waited: processed now, in their order. */
  const releaseHeld = (held: Buffer[]): OutgoingRecord[] => held.flatMap((encoded) => handle(codecs.record.decode(encoded), encoded));

  const handle = (record: JourneyRecord, encoded: Buffer): OutgoingRecord[] => {
    if (barrier.mustHold(record)) {
      barrier.hold(record.customerId, encoded);
      return [];
    }
    switch (record.kind) {
      case 'absorbing':
        barrier.absorbing(record.customerId, record.mergedFrom, deps.now());
        return [];
      case 'touchpoint': {
        if (!record.touchpoint) return [];
        const inputOffset = record.inputOffset ?? null;
        if (exported.has(record.customerId) || (inputOffset !== null && partition.isRepeat(record.customerId, inputOffset))) {
          deps.counters.repeats();
          return [];
        }
        deps.counters.touchpoints();
        const out = partition.process(record.touchpoint, deps.now(), inputOffset);
        return emit({ transitions: out.transitions, funnel: out.funnel, churn: out.churn ? [out.churn] : [] });
      }
      case 'merge': {
        if (!record.mergeInto || record.mergeInto === record.customerId) return [];
        // Sent even when there is nothing to merge: the survivor is waiting for it.
        exported.firstTime(record.customerId, record.mergeInto);
        const state = partition.exportCustomer(record.customerId);
        const transfer: JourneyRecord = {
          kind: 'transfer',
          customerId: record.mergeInto,
          touchpoint: null,
          mergeInto: null,
          mergedFrom: record.customerId,
          state: state === null ? null : Buffer.from(encodeJourneyState(state)),
        };
        return [{ topic: topics.customerTouchpoints, key: transfer.customerId, value: codecs.record.encode(transfer) }];
      }
      case 'transfer': {
        const { merge, release } = barrier.transferred(record.customerId, record.mergedFrom);
        const merged = merge && record.state ? partition.importCustomer(record.customerId, decodeJourneyState(record.state)) : null;
        const out = merged ? emit({ transitions: merged.transitions, funnel: merged.funnel, churn: merged.churn ? [merged.churn] : [] }) : [];
        return [...out, ...releaseHeld(release)];
      }
      case 'watermark':
        return []; // the sessionizer's own progress records; never on this topic
    }
  };

  return {
    partition,
    restore(key, value) {
      if (!exported.restore(key, value) && !barrier.restore(key, value)) partition.restore(key, value);
    },
    process(message: KafkaMessage) {
      let record: JourneyRecord;
      try {
        if (!message.value) throw new Error('empty message value');
        record = codecs.record.decode(message.value);
      } catch (error) {
        deps.counters.deadLetter();
        return [deadLetterRecord(topics.deadLetter, { topic: topics.customerTouchpoints, stage: 'stages', message }, (error as Error).message, deps.now())];
      }
      return handle(record, message.value);
    },
    tick(now: number, context) {
      const expired = barrier.overdue(now, context.caughtUp);
      deps.counters.mergeWaitsExpired(expired.length);
      const released = expired.flatMap(releaseHeld);
      return [...released, ...emit(partition.tick(now, deps.tickLimit))];
    },
    takeStateUpdates(): StateUpdate[] {
      const customers = partition.drainDirty().map((r) => ({ key: r.customerId, value: r.snapshot === null ? null : Buffer.from(r.snapshot) }));
      return [...customers, ...exported.drainUpdates(), ...barrier.drainUpdates()];
    },
  };
}
