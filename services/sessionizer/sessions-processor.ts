import type { KafkaMessage } from 'kafkajs';
import type { Codec } from '../../schemas/codec.js';
import type { JourneyRecord, SessionRecord } from '../../schemas/journey.js';
import type { Topics } from '../../schemas/topics.js';
import type { OutgoingRecord } from '../platform/kafka/producer.js';
import { deadLetterRecord } from '../platform/pipeline/dead-letter.js';
import { MergeLedger } from '../platform/streams/merge-ledger.js';
import { MergeBarrier, type MergeWaitLimits } from '../platform/streams/merge-barrier.js';
import type { PartitionProcessor, StateUpdate } from '../platform/streams/stateful-handler.js';
import type { SessionizerConfig } from './core/sessions.js';
import { SessionizerPartition } from './core/partition.js';

/**
 * Changelog keys: a customer id; `fwd:<absorbed>` → survivor (forwards); `imp:` / `wait:` (merge
 * barrier); `wm:<source>` → that touchpoints partition's event-time watermark as seen here.
 */
const WATERMARK_PREFIX = 'wm:';

export interface SessionsProcessorDeps {
  topics: Topics;
  recordCodec: Codec<JourneyRecord>;
  sessionCodec: Codec<SessionRecord>;
  config: SessionizerConfig;
  /** Event time lags wall-clock time by at most this much: idle partitions still close sessions. */
  maxEventLagMs: number;
  /**
   * Partitions of the touchpoints topic (the router's input): this partition's watermark is the
   * least of theirs, so an on-time event from a source that lags the others still finds its
   * sessions open and unfolded. A source not heard from yet holds it back.
   */
  sourcePartitions: number;
  /** How long (processing time) and for how many records a merge survivor waits for the absorbed state. */
  mergeWait: MergeWaitLimits;
  counters: { duplicates(): void; late(): void; sessionsClosed(n: number): void; deadLetter(): void; mergeWaitsExpired(n: number): void };
  now: () => number;
}

/**
 * Stage two of the sessionizer, per partition of `identified-touchpoints` (keyed by customer id):
 * sessions, de-duplication, and the merge protocol. A `merge` notice makes this owner export the
 * absorbed customer and send it (`transfer`) to the survivor's key; later touchpoints still keyed by
 * the absorbed id (routed before every instance saw the link) are forwarded to the survivor.
 */
export function createSessionsProcessor(deps: SessionsProcessorDeps) {
  const partition = new SessionizerPartition(deps.config);
  /** Customers merged away here (their owner forwards what still comes for them to the survivor). */
  const forwards = new MergeLedger('fwd:');
  const barrier = new MergeBarrier(deps.mergeWait);
  const sourceWatermarks = new Map<number, number>();
  const dirtySources = new Set<number>();
  const now = deps.now;

  /** Notes a source's progress; the partition watermark follows the least source. */
  const noteSource = (source: number, watermark: number) => {
    if (source < 0 || source >= deps.sourcePartitions || watermark <= (sourceWatermarks.get(source) ?? -Infinity)) return;
    sourceWatermarks.set(source, watermark);
    dirtySources.add(source);
    if (sourceWatermarks.size < deps.sourcePartitions) return;
    let least = Infinity;
    for (const w of sourceWatermarks.values()) if (w < least) least = w;
    partition.advanceWatermark(least);
  };

  const loopback = (r: JourneyRecord): OutgoingRecord => ({ topic: deps.topics.identifiedTouchpoints, key: r.customerId, value: deps.recordCodec.encode(r) });
  const downstream = (r: JourneyRecord): OutgoingRecord => ({ topic: deps.topics.customerTouchpoints, key: r.customerId, value: deps.recordCodec.encode(r) });
  const sessionRecords = (sessions: SessionRecord[]): OutgoingRecord[] =>
    sessions.map((s) => ({ topic: deps.topics.sessions, key: s.customerId, value: deps.sessionCodec.encode(s) }));

  /** Records a survivor held while it waited (stamped with their offsets): processed now, in their order. */
  const releaseHeld = (held: Buffer[]): OutgoingRecord[] =>
    held.flatMap((encoded) => {
      const record = deps.recordCodec.decode(encoded);
      return handle(record, record.inputOffset ?? 0);
    });

  /** `offset`: where the record was consumed, passed on downstream so replays can be recognised. */
  const handle = (record: JourneyRecord, offset: number): OutgoingRecord[] => {
    if (barrier.mustHold(record)) {
      barrier.hold(record.customerId, deps.recordCodec.encode({ ...record, inputOffset: offset }));
      return [];
    }
    const survivor = forwards.survivorOf(record.customerId);
    if (survivor !== undefined && record.kind !== 'transfer') {
      // This customer was merged away: its late-routed records belong to the survivor.
      const rekeyed: JourneyRecord = record.touchpoint
        ? { ...record, customerId: survivor, touchpoint: { ...record.touchpoint, customerId: survivor } }
        : { ...record, customerId: survivor };
      // Merge notices of a merged-away id concern no state here any more.
      return record.kind === 'merge' || record.kind === 'absorbing' ? [] : [loopback(rekeyed)];
    }
    switch (record.kind) {
      case 'watermark':
        if (record.source != null && record.sourceWatermark != null) noteSource(record.source, record.sourceWatermark);
        return [];
      case 'absorbing':
        barrier.absorbing(record.customerId, record.mergedFrom, now());
        // The stages service waits too, for its own state: the notice goes on in sequence.
        return [downstream(record)];
      case 'touchpoint': {
        const ctp = record.touchpoint;
        if (!ctp) return [];
        const sourceWatermark = record.source != null && record.sourceWatermark != null ? record.sourceWatermark : undefined;
        const result = partition.process(ctp.touchpoint, record.customerId, ctp.accountId, sourceWatermark);
        if (result.duplicate) {
          deps.counters.duplicates();
          return [];
        }
        if (result.late) deps.counters.late();
        return [
          downstream({
            ...record,
            inputOffset: offset,
            touchpoint: { ...ctp, customerId: record.customerId, accountId: result.accountId, sessionId: result.sessionId, late: result.late },
          }),
          ...sessionRecords(result.sessions),
        ];
      }
      case 'merge': {
        const into = record.mergeInto;
        if (!into || into === record.customerId) return [];
        forwards.firstTime(record.customerId, into);
        const state = partition.exportCustomer(record.customerId);
        const notice = downstream(record); // the stages service runs the same protocol for its own state
        // Sent even when there is nothing to merge: the survivor is waiting for it.
        const transfer = loopback({ kind: 'transfer', customerId: into, touchpoint: null, mergeInto: null, mergedFrom: record.customerId, state: state === null ? null : Buffer.from(state) });
        return [transfer, notice];
      }
      case 'transfer': {
        const { merge, release } = barrier.transferred(record.customerId, record.mergedFrom);
        const merged = merge && record.state ? sessionRecords(partition.importCustomer(record.customerId, record.state)) : [];
        return [...merged, ...releaseHeld(release)];
      }
    }
  };

  const processor: PartitionProcessor & { partition: SessionizerPartition } = {
    partition,
    restore(key, value) {
      if (forwards.restore(key, value) || barrier.restore(key, value)) return;
      if (key.startsWith(WATERMARK_PREFIX)) noteSource(Number(key.slice(WATERMARK_PREFIX.length)), Number(value.toString('utf8')));
      else partition.restore(key, value);
    },
    process(message: KafkaMessage) {
      let record: JourneyRecord;
      try {
        if (!message.value) throw new Error('empty message value');
        record = deps.recordCodec.decode(message.value);
      } catch (error) {
        deps.counters.deadLetter();
        return [deadLetterRecord(deps.topics.deadLetter, { topic: deps.topics.identifiedTouchpoints, stage: 'sessionizer', message }, (error as Error).message, now())];
      }
      return handle(record, Number(message.offset));
    },
    tick(at: number, context) {
      // Wall-clock punctuation only for an idle, caught-up partition: a backlog being replayed
      // must not have its events declared late because the clock moved on meanwhile.
      if (context.caughtUp) partition.advanceWatermark(at - deps.maxEventLagMs);
      const expired = barrier.overdue(at, context.caughtUp);
      deps.counters.mergeWaitsExpired(expired.length);
      const released = expired.flatMap(releaseHeld);
      // A waiting survivor's sessions stay open until the absorbed sessions have been merged in.
      const closed = partition.expire((customerId) => barrier.isWaiting(customerId));
      deps.counters.sessionsClosed(closed.length);
      return [...released, ...sessionRecords(closed)];
    },
    takeStateUpdates(): StateUpdate[] {
      const updates: StateUpdate[] = partition.dirtyKeys().map((key) => {
        const snap = partition.snapshot(key);
        return { key, value: snap === null ? null : Buffer.from(snap) };
      });
      for (const source of dirtySources) updates.push({ key: `${WATERMARK_PREFIX}${source}`, value: Buffer.from(String(sourceWatermarks.get(source)!)) });
      dirtySources.clear();
      updates.push(...forwards.drainUpdates(), ...barrier.drainUpdates());
      return updates;
    },
  };
  return processor;
}
