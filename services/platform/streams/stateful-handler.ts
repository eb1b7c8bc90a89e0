import { join } from 'node:path';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { ReadAgainFrom, type CommitPoint, type PartitionBatch, type PartitionControl, type PartitionHandler, type TopicPartition } from '../kafka/consumer.js';
import { AppendTooLargeError } from '../kafka/errors.js';
import { appendEndKey, CHANGELOG_MAX_APPEND_BYTES, chunkBySize, MAX_REQUEST_BYTES, recordBytes, type AppendEnds, type OutgoingRecord, type RecordProducer } from '../kafka/producer.js';
import type { Logger } from '../logging/logger.js';
import { APPLIED_OFFSET_KEY, restoreChangelog } from './changelog.js';
import { collectGarbage } from './collect-garbage.js';
import { openLocalStateLog, type LocalStateLog } from './local-state-log.js';

/** One key's state as it goes to the changelog; null is a tombstone (the key holds nothing now). */
export interface StateUpdate {
  key: string;
  value: Buffer | null;
}

/**
 * The per-partition processing core a stateful service plugs in. It is given messages in offset
 * order, returns the records they cause, and reports which keys' state changed.
 */
export interface PartitionProcessor {
  /**
   * A key's committed value from the changelog, in changelog order while the partition restores:
   * it replaces the key's state; null (a tombstone) deletes it. The value is a view into a fetch
   * response that is dropped after the call: copy what is kept (see RestoreSink).
   */
  restore(key: string, value: Buffer | null): void;
  process(message: KafkaMessage): OutgoingRecord[];
  /**
   * Time-driven work (session expiry, silence). `caughtUp`: the partition had no lag at its last
   * batch, so wall-clock time may stand in for event time (an idle partition still closes
   * sessions); while catching up, only event time may move anything.
   */
  tick(now: number, context: { caughtUp: boolean }): OutgoingRecord[];
  /**
   * Outputs the processor held back to coalesce them (optional): sent before each state flush, so
   * the state never includes an effect whose output was not sent.
   */
  drain?(): OutgoingRecord[];
  /**
   * How many keys' state changed since the last `takeStateUpdates`, within a factor of two (at
   * least half of them, at most all): a flush is taken once it reaches the cap. Called per record.
   */
  changedKeys(): number;
  /**
   * State changed since the last call (and forgets it). Each value must stay under
   * MAX_RECORD_BYTES (the processor bounds its keys' state): a larger one can never be written.
   */
  takeStateUpdates(): StateUpdate[];
}

export interface StatefulHandlerDeps {
  kafka: Kafka;
  /** Writes the changelog (state and applied-offset marker): awaited, one atomic append per flush. */
  producer: RecordProducer;
  /**
   * Writes the outputs; the step does not wait for them between state flushes (default `producer`).
   * A lingering producer here lets the outputs of every partition share produce requests.
   */
  outputs?: RecordProducer;
  changelogTopic: string;
  createProcessor(tp: TopicPartition): PartitionProcessor | Promise<PartitionProcessor>;
  /**
   * A partition's state goes to the changelog at most this often (and when `maxChangedKeys` keys
   * changed): a customer who changed many times in between is written once. What a crash loses
   * is the processing since the last flush, which is replayed from the input (default 1,000 ms).
   */
  stateFlushIntervalMs?: number;
  /**
   * A partition whose input stopped flushes once it has had none for this long, without waiting for
   * the interval (default 1,000 ms): with nothing more arriving there is nothing left to coalesce,
   * and whoever waits for the group to pass its input (a deletion, a drain) is not held up by the
   * interval. While input keeps coming, the interval alone decides.
   */
  stateFlushQuietMs?: number;
  /**
   * A flush goes early once this many keys changed, so it is usually one produce request (default
   * 512: ~1.2 KB per typical customer in the journey step; one larger goes as several appends, see
   * flushState).
   */
  maxChangedKeys?: number;
  now: () => number;
  logger: Logger;
  /**
   * Where local copies of the changelog partitions live (DATA_DIR/state): a restart restores from
   * its copy and the changelog's tail. Absent, every restore reads the whole changelog partition.
   */
  localStateDir?: string;
  /** `ms`: the whole restore, the changelog read and the processor taking every entry. */
  onRestored?(tp: TopicPartition, stats: { values: number; ms: number; records: number; fromLocalCopy: boolean }): void;
  /**
   * A state flush too large for one append went as `appends` appends, the marker in the last
   * (see flushState): counted, as a crash between them costs a rollback at the next restore.
   */
  onSplitFlush?(tp: TopicPartition, stats: { appends: number; bytes: number; records: number }): void;
  /**
   * Bytes of one changelog append (recordBytes; default and at most CHANGELOG_MAX_APPEND_BYTES, which
   * the changelog topics are created to take). Smaller only to exercise split flushes in tests.
   */
  maxAppendBytes?: number;
  /**
   * A batch began after the next input the state expects (`first` > `handled` + 1): the input
   * between was never applied to this state. The input topics have contiguous offsets, so this is
   * either a state behind what the group committed (a restore that lost steps) or input the
   * broker's retention deleted. The first time, the partition is read again from `handled` + 1
   * (ReadAgainFrom; needs the consumer's rewindOnFailure) and `readAgain` is true; if the next batch
   * still begins past it, the log no longer holds that input and processing goes on from there.
   * Logged as a warning and told here either way, never silent.
   */
  onInputGap?(tp: TopicPartition, gap: { handled: bigint; first: bigint; readAgain: boolean }): void;
}

/** Output bytes sent but not yet acknowledged, per partition, beyond which the step waits for them. */
const MAX_UNACKED_OUTPUT_BYTES = 8 * 1024 * 1024;

/** One assigned partition: its processor, and how far its input is handled, durable and sent. */
interface PartitionRun {
  processor: PartitionProcessor;
  /** The newest input offset whose state is in the changelog (the applied-offset marker). */
  applied: bigint | null;
  /** The newest input offset the processor has taken (≥ applied). */
  handled: bigint | null;
  lastFlushAt: number;
  /** When the newest input was taken (deps.now()). */
  lastInputAt: number;
  /** Output sends since the last state flush: all must be acknowledged before the marker moves. */
  unacked: Promise<void>[];
  unackedBytes: number;
  /** The first failed send: the partition starts again from the changelog. */
  failed: unknown;
  caughtUp: boolean;
  /** Committed values of keys an unfinished step wrote (ChangelogFold): the next flush writes them first. */
  rollback: StateUpdate[];
}

/**
 * At-least-once processing with state that never double-applies an input.
 *
 * Outputs are sent as they are produced, without waiting for the broker between batches. State
 * goes to the changelog on an interval (a flush): first every output sent so far is awaited, then
 * the changed keys' state and the applied-offset marker go in ONE send to the changelog partition
 * numbered like the input partition (one atomic record batch), and only then is the input offset
 * committed. After a crash, the restored state says which input offset it already includes; those
 * messages are skipped, and the ones after it are processed again. Their outputs repeat: they
 * carry deterministic ids and every sink is idempotent.
 */
export function createStatefulHandler(deps: StatefulHandlerDeps): PartitionHandler {
  const runs = new Map<string, PartitionRun>();
  /**
   * Per partition, the applied offset a gap was last read again from (onInputGap): the same gap
   * again is input the log no longer holds. Outlives a revocation, so a gap the log cannot fill
   * is read again once, not in a loop.
   */
  const gapsReadAgain = new Map<string, bigint>();
  const localCopies = new Map<string, LocalStateLog>();
  const outputs = deps.outputs ?? deps.producer;
  const flushIntervalMs = deps.stateFlushIntervalMs ?? 1_000;
  const flushQuietMs = deps.stateFlushQuietMs ?? 1_000;
  const maxChangedKeys = deps.maxChangedKeys ?? 512;
  /**
   * Lowered to MAX_REQUEST_BYTES for good once the broker refuses an append by size: a changelog
   * whose settings could not be raised (ensureTopics: no permission to alter them, say) takes only
   * the broker's default batch, so flushes go as several appends (split flushes, counted) rather
   * than failing for ever.
   */
  let maxAppendBytes = Math.min(deps.maxAppendBytes ?? CHANGELOG_MAX_APPEND_BYTES, CHANGELOG_MAX_APPEND_BYTES);
  const key = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;
  /** Restores under way: when the last of a round ends, one full GC frees their fetch responses (collect-garbage.ts). */
  let restoring = 0;

  const openLocalCopy = (tp: TopicPartition): LocalStateLog | null => {
    closeLocalCopy(tp);
    if (deps.localStateDir === undefined) return null;
    const copy = openLocalStateLog(join(deps.localStateDir, `${deps.changelogTopic}-${tp.partition}.log`), deps.logger);
    if (copy) localCopies.set(key(tp), copy);
    return copy;
  };
  const closeLocalCopy = (tp: TopicPartition) => {
    localCopies.get(key(tp))?.close();
    localCopies.delete(key(tp));
  };
  /** After the changelog acknowledged `records`: the local copy gets them too, or is dropped when their offsets are unknown. */
  const copyLocally = (tp: TopicPartition, records: OutgoingRecord[], ends: AppendEnds | void) => {
    const copy = localCopies.get(key(tp));
    if (!copy || records.length === 0) return;
    const end = ends?.get(appendEndKey(deps.changelogTopic, tp.partition));
    if (end === undefined) {
      copy.discard();
      localCopies.delete(key(tp));
      return;
    }
    copy.append(records.map((r) => ({ key: r.key ?? '', value: r.value })), end);
  };

  const restore = async (tp: TopicPartition): Promise<PartitionRun> => {
    const processor = await deps.createProcessor(tp);
    const started = deps.now();
    deps.logger.info({ tp, changelog: deps.changelogTopic }, 'restoring partition state');
    const copy = openLocalCopy(tp);
    // Each committed value goes to the processor as it is read; what came from Kafka goes to the
    // copy too, so the next restore starts from here.
    restoring++;
    let restored: Awaited<ReturnType<typeof restoreChangelog>>;
    try {
      restored = await restoreChangelog(deps.kafka, deps.changelogTopic, tp.partition, deps.logger, { apply: (k, v) => processor.restore(k, v), now: deps.now, localCopy: copy });
    } finally {
      if (--restoring === 0) collectGarbage();
    }
    // An unfinished step's records stay in the changelog until the rollback is written: a copy
    // claiming to reach its end would hide them from the next restore, so it is dropped.
    if (copy && restored.rollback.size > 0) {
      copy.discard();
      localCopies.delete(key(tp));
    }
    processor.takeStateUpdates(); // restoring is not a change
    const ms = deps.now() - started;
    deps.logger.info({ tp, values: restored.values, tombstones: restored.tombstones, ms, readMs: restored.ms }, 'partition restored');
    const run: PartitionRun = {
      processor,
      applied: restored.appliedOffset,
      handled: restored.appliedOffset,
      lastFlushAt: deps.now(),
      lastInputAt: deps.now(),
      unacked: [],
      unackedBytes: 0,
      failed: undefined,
      caughtUp: true,
      rollback: [...restored.rollback].map(([k, value]) => ({ key: k, value })),
    };
    runs.set(key(tp), run);
    deps.onRestored?.(tp, { values: restored.values, ms, records: restored.records, fromLocalCopy: restored.fromLocalCopy });
    return run;
  };

  /** Drops the partition's in-memory state (ahead of what is durable): its next batch restores it. */
  const forget = (tp: TopicPartition, run: PartitionRun) => {
    if (runs.get(key(tp)) === run) runs.delete(key(tp));
  };

  const sendOutputs = (run: PartitionRun, records: OutgoingRecord[]) => {
    if (records.length === 0) return;
    let bytes = 0;
    for (const r of records) bytes += recordBytes(r);
    run.unackedBytes += bytes;
    run.unacked.push(
      outputs.send(records).then(
        () => {
          run.unackedBytes -= bytes;
        },
        (error: unknown) => {
          run.failed ??= error;
        },
      ),
    );
  };

  /** Waits for every output sent so far; a failed one makes the partition start again from the changelog. */
  const awaitOutputs = async (tp: TopicPartition, run: PartitionRun) => {
    const sent = run.unacked;
    run.unacked = [];
    await Promise.all(sent);
    if (run.failed !== undefined) {
      forget(tp, run);
      throw run.failed;
    }
  };

  /**
   * Makes everything handled durable: outputs acknowledged, then the changed state and the
   * applied-offset marker (last) in one append. Returns the point to commit, or null when no input
   * was new.
   *
   * A flush is one append (one record batch, so all or nothing) up to `maxAppendBytes`, 30 MiB:
   * 20,000 customers of typical state (SESSIONIZER_STATE_FLUSH_MAX_CUSTOMERS) fit in it. A larger
   * flush (customers near their state's byte bound) goes as several appends in order, the marker in
   * the last one, and is counted (onSplitFlush). If a later one fails, the changelog ends with
   * records after its last marker, which a restore leaves out and rolls back (ChangelogFold), so the
   * step is still all or nothing as long as the committed values it rolls back to are not compacted
   * away (admin.ts: min.compaction.lag.ms). The marker goes with every flush that writes state or
   * handled new input, so that only an unfinished step leaves records after it.
   */
  const flushState = async (tp: TopicPartition, run: PartitionRun, control: PartitionControl | null): Promise<CommitPoint | null> => {
    sendOutputs(run, run.processor.drain?.() ?? []);
    await awaitOutputs(tp, run);
    const handled = run.handled;
    const marksInput = handled !== null && handled !== run.applied;
    const toRecord = (u: StateUpdate): OutgoingRecord => ({ topic: deps.changelogTopic, key: u.key, value: u.value, partition: tp.partition });
    const records: OutgoingRecord[] = [...run.rollback.map(toRecord), ...run.processor.takeStateUpdates().map(toRecord)];
    const mark = handled ?? run.applied;
    // New input that changed no state (a deletion's forget record for a customer this partition
    // does not hold, a duplicate) is progress too: the marker goes alone, so the group commits it and
    // whoever waits for the group to pass it (a deletion, README: Privacy) is not held up.
    if ((records.length > 0 || marksInput) && mark !== null) records.push(toRecord({ key: APPLIED_OFFSET_KEY, value: Buffer.from(mark.toString()) }));
    run.lastFlushAt = deps.now();
    if (records.length === 0) return null;
    let appended: { appends: number; ends: AppendEnds | void };
    try {
      appended = await appendFlush(tp, records);
    } catch (error) {
      forget(tp, run);
      throw error;
    }
    run.rollback = [];
    copyLocally(tp, records, appended.ends);
    if (appended.appends > 1) {
      deps.onSplitFlush?.(tp, { appends: appended.appends, bytes: records.reduce((n, r) => n + recordBytes(r), 0), records: records.length });
    }
    if (!marksInput) return null;
    run.applied = handled;
    const point = { offset: (handled + 1n).toString() };
    // A long batch must not look like a dead member to the group coordinator, and its durable
    // steps are progress (committed on the schedule) before it ends.
    if (control) {
      await control.heartbeat();
      await control.progress(point);
    }
    return point;
  };

  /** Sends a flush's records in order as appends of at most maxAppendBytes (see flushState). */
  const appendFlush = async (tp: TopicPartition, records: OutgoingRecord[]): Promise<{ appends: number; ends: AppendEnds | void }> => {
    for (;;) {
      const appends = chunkBySize(records, maxAppendBytes);
      try {
        let ends: AppendEnds | void = undefined;
        for (const append of appends) ends = await deps.producer.send(append, maxAppendBytes);
        return { appends: appends.length, ends };
      } catch (error) {
        if (!(error instanceof AppendTooLargeError) || maxAppendBytes <= MAX_REQUEST_BYTES) throw error;
        // Appends before the refused one, if any, are an unfinished step until the marker lands:
        // writing the whole flush again in smaller appends finishes it.
        deps.logger.warn({ tp, err: error, maxAppendBytes }, `changelog ${deps.changelogTopic} refused a ${maxAppendBytes}-byte append: its max.message.bytes or segment.bytes is below what it is created with (admin.ts); flushes go as ${MAX_REQUEST_BYTES}-byte appends from now on`);
        maxAppendBytes = MAX_REQUEST_BYTES;
      }
    }
  };

  const flushDue = (run: PartitionRun) => deps.now() - run.lastFlushAt >= flushIntervalMs;
  /** Input taken since the last flush, and none for flushQuietMs: flush now (deps.stateFlushQuietMs). */
  const quietFlushDue = (run: PartitionRun) => run.handled !== run.applied && deps.now() - run.lastInputAt >= flushQuietMs;

  return {
    async onAssigned(tp) {
      await restore(tp);
    },
    async onRevoked(tp) {
      // Not flushed: the partition may belong to another member already, which restores what is
      // durable and processes the rest again.
      runs.delete(key(tp));
      closeLocalCopy(tp);
    },
    async handleBatch(batch: PartitionBatch, control): Promise<CommitPoint | null> {
      let run = runs.get(key(batch)) ?? (await restore(batch));
      if (run.failed !== undefined) {
        // An output send failed after its batch returned: start again from what is durable.
        forget(batch, run);
        throw run.failed;
      }
      const { processor } = run;
      const first = batch.messages[0];
      if (first !== undefined && run.handled !== null && BigInt(first.offset) > run.handled + 1n) {
        const readAgain = gapsReadAgain.get(key(batch)) !== run.handled;
        const gap = { handled: run.handled, first: BigInt(first.offset), readAgain };
        const tp = { topic: batch.topic, partition: batch.partition };
        deps.onInputGap?.(batch, gap);
        if (readAgain) {
          deps.logger.warn({ tp, handled: gap.handled.toString(), first: gap.first.toString() }, 'the batch begins after the next offset the state expects: reading the partition again from there');
          gapsReadAgain.set(key(batch), run.handled);
          throw new ReadAgainFrom((run.handled + 1n).toString());
        }
        deps.logger.warn({ tp, handled: gap.handled.toString(), first: gap.first.toString() }, 'input skipped: read again, the partition still begins after the next offset the state expects (deleted by retention)');
      }
      let pending: OutgoingRecord[] = [];
      let pendingBytes = 0;
      let flushed: CommitPoint | null = null;
      let last: bigint | null = null;
      let sinceHeartbeat = 0;
      for (const message of batch.messages) {
        const offset = BigInt(message.offset);
        last = offset;
        if (run.handled !== null && offset <= run.handled) continue;
        for (const r of processor.process(message)) {
          pending.push(r);
          pendingBytes += recordBytes(r);
        }
        run.handled = offset;
        if (pendingBytes > MAX_REQUEST_BYTES / 4) {
          sendOutputs(run, pending);
          pending = [];
          pendingBytes = 0;
          if (run.unackedBytes > MAX_UNACKED_OUTPUT_BYTES) await awaitOutputs(batch, run);
        }
        if (processor.changedKeys() >= maxChangedKeys) {
          sendOutputs(run, pending);
          pending = [];
          pendingBytes = 0;
          flushed = (await flushState(batch, run, control)) ?? flushed;
        } else if (++sinceHeartbeat % 500 === 0) await control.heartbeat();
      }
      if (last === null) return null;
      run.lastInputAt = deps.now();
      run.caughtUp = BigInt(batch.highWatermark) <= last + 1n;
      pending.push(...processor.tick(deps.now(), { caughtUp: false }));
      sendOutputs(run, pending);
      if (flushDue(run)) flushed = (await flushState(batch, run, control)) ?? flushed;
      return flushed;
    },
    async onIdle(tp, control) {
      const run = runs.get(key(tp));
      if (!run || run.failed !== undefined) return null;
      sendOutputs(run, run.processor.tick(deps.now(), { caughtUp: run.caughtUp }));
      return flushDue(run) || quietFlushDue(run) ? flushState(tp, run, control) : null;
    },
    async flush(tp, control) {
      const run = runs.get(key(tp));
      if (!run || run.failed !== undefined) return null;
      sendOutputs(run, run.processor.tick(deps.now(), { caughtUp: run.caughtUp }));
      return flushState(tp, run, control);
    },
  };
}
