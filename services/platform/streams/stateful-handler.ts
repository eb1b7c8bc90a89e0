import { join } from 'node:path';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { CommitPoint, PartitionBatch, PartitionHandler, TopicPartition } from '../kafka/consumer.js';
import { appendEndKey, MAX_REQUEST_BYTES, recordBytes, type AppendEnds, type OutgoingRecord, type RecordProducer } from '../kafka/producer.js';
import type { Logger } from '../logging/logger.js';
import { APPLIED_OFFSET_KEY, changelogEntries, restorePartition } from './changelog.js';
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
  restore(key: string, value: Buffer): void;
  process(message: KafkaMessage): OutgoingRecord[];
  /**
   * Time-driven work (session expiry, silence). `caughtUp`: the partition had no lag at its last
   * batch, so wall-clock time may stand in for event time (an idle partition still closes
   * sessions); while catching up, only event time may move anything.
   */
  tick(now: number, context: { caughtUp: boolean }): OutgoingRecord[];
  /** State changed since the last call (and forgets it). */
  takeStateUpdates(): StateUpdate[];
}

export interface StatefulHandlerDeps {
  kafka: Kafka;
  producer: RecordProducer;
  changelogTopic: string;
  createProcessor(tp: TopicPartition): PartitionProcessor | Promise<PartitionProcessor>;
  now: () => number;
  logger: Logger;
  /**
   * Where local copies of the changelog partitions live (DATA_DIR/state): a restart restores from
   * its copy and the changelog's tail. Absent, every restore reads the whole changelog partition.
   */
  localStateDir?: string;
  onRestored?(tp: TopicPartition, stats: { keys: number; ms: number; records: number; fromLocalCopy: boolean }): void;
}

/**
 * At-least-once processing with state that never double-applies an input:
 * per batch, the processor's outputs, its changed state and an applied-offset marker are produced
 * in ONE send (the state and marker go to the changelog partition numbered like the input
 * partition, so they land in one atomic record batch); the input offset is committed afterwards.
 * After a crash, the restored state says which input offset it already includes, and those
 * messages are skipped instead of being applied twice. Outputs of a replayed batch can repeat;
 * they carry deterministic ids and every sink is idempotent.
 */
export function createStatefulHandler(deps: StatefulHandlerDeps): PartitionHandler & { processors(): Map<string, PartitionProcessor> } {
  const processors = new Map<string, PartitionProcessor>();
  const applied = new Map<string, bigint | null>();
  const caughtUp = new Map<string, boolean>();
  const localCopies = new Map<string, LocalStateLog>();
  const key = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;

  const openLocalCopy = (tp: TopicPartition): LocalStateLog | null => {
    localCopies.get(key(tp))?.close();
    localCopies.delete(key(tp));
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
    const state = records.filter((r) => r.topic === deps.changelogTopic);
    if (!copy || state.length === 0) return;
    const end = ends?.get(appendEndKey(deps.changelogTopic, tp.partition));
    if (end === undefined) {
      copy.discard();
      localCopies.delete(key(tp));
      return;
    }
    copy.append(state.map((r) => ({ key: r.key ?? '', value: r.value })), end);
  };

  const changelogRecords = (tp: TopicPartition, processor: PartitionProcessor, appliedOffset: bigint | null): OutgoingRecord[] => {
    const records: OutgoingRecord[] = processor
      .takeStateUpdates()
      .map((u) => ({ topic: deps.changelogTopic, key: u.key, value: u.value, partition: tp.partition }));
    if (appliedOffset !== null) {
      records.push({ topic: deps.changelogTopic, key: APPLIED_OFFSET_KEY, value: Buffer.from(appliedOffset.toString()), partition: tp.partition });
    }
    return records;
  };

  const restore = async (tp: TopicPartition): Promise<PartitionProcessor> => {
    const processor = await deps.createProcessor(tp);
    deps.logger.info({ tp, changelog: deps.changelogTopic }, 'restoring partition state');
    const copy = openLocalCopy(tp);
    const restored = await restorePartition(deps.kafka, deps.changelogTopic, tp.partition, deps.logger, deps.now, copy?.load() ?? null);
    // Read from Kafka: the copy is rewritten compacted, so the next restore starts from here.
    if (copy && (restored.records > 0 || !restored.fromLocalCopy)) copy.rewrite(changelogEntries(restored), restored.end);
    for (const [k, v] of restored.entries) processor.restore(k, v);
    processor.takeStateUpdates(); // restoring is not a change
    processors.set(key(tp), processor);
    applied.set(key(tp), restored.appliedOffset);
    deps.onRestored?.(tp, { keys: restored.entries.size, ms: restored.ms, records: restored.records, fromLocalCopy: restored.fromLocalCopy });
    return processor;
  };

  /**
   * A failed send leaves in-memory state ahead of what is durable: forget it, so the retry starts
   * from the changelog again instead of applying the same messages twice.
   */
  const sendOrForget = async (tp: TopicPartition, records: OutgoingRecord[]) => {
    try {
      copyLocally(tp, records, await deps.producer.send(records));
    } catch (error) {
      processors.delete(key(tp));
      applied.delete(key(tp));
      throw error;
    }
  };

  return {
    async onAssigned(tp) {
      await restore(tp);
    },
    async onRevoked(tp) {
      processors.delete(key(tp));
      applied.delete(key(tp));
      closeLocalCopy(tp);
    },
    async handleBatch(batch: PartitionBatch, control): Promise<CommitPoint | null> {
      const processor = processors.get(key(batch)) ?? (await restore(batch));
      const alreadyApplied = applied.get(key(batch)) ?? null;
      let outputs: OutgoingRecord[] = [];
      let bytes = 0;
      let last: bigint | null = null;
      let sinceHeartbeat = 0;
      // A large batch is cut into steps. Per step: outputs first (they may repeat after a crash:
      // deterministic ids), then the changed state and the applied-offset marker together, in a
      // send small enough to be ONE request, i.e. one atomic append to the changelog partition.
      const flush = async (offset: bigint) => {
        await sendOrForget(batch, outputs);
        await sendOrForget(batch, changelogRecords(batch, processor, offset));
        applied.set(key(batch), offset);
        outputs = [];
        bytes = 0;
        // A long batch must not look like a dead member to the group coordinator, and its durable
        // steps are progress (committed on the schedule) before it ends.
        await control.heartbeat();
        await control.progress({ offset: (offset + 1n).toString() });
      };
      for (const message of batch.messages) {
        const offset = BigInt(message.offset);
        last = offset;
        if (alreadyApplied !== null && offset <= alreadyApplied) continue;
        for (const r of processor.process(message)) {
          outputs.push(r);
          bytes += recordBytes(r);
        }
        if (bytes > MAX_REQUEST_BYTES / 4) await flush(offset);
        else if (++sinceHeartbeat % 500 === 0) await control.heartbeat();
      }
      if (last === null) return null;
      caughtUp.set(key(batch), BigInt(batch.highWatermark) <= last + 1n);
      outputs.push(...processor.tick(deps.now(), { caughtUp: false }));
      await flush(last);
      return { offset: (last + 1n).toString() };
    },
    async onIdle(tp) {
      const processor = processors.get(key(tp));
      if (!processor) return null;
      const outputs = processor.tick(deps.now(), { caughtUp: caughtUp.get(key(tp)) ?? true });
      const state = changelogRecords(tp, processor, null);
      if (outputs.length + state.length > 0) await sendOrForget(tp, [...outputs, ...state]);
      return null;
    },
    processors: () => processors,
  };
}
