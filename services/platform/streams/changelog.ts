import type { Kafka } from 'kafkajs';
import { readPartitionRecords } from '../kafka/read-range.js';
import type { Logger } from '../logging/logger.js';
import type { LocalStateLog, StateCopyWriter } from './local-state-log.js';

/** The key under which a partition's changelog records the last input offset its state includes. */
export const APPLIED_OFFSET_KEY = '__applied_offset__';

/**
 * Takes a key's committed value as a restore reads it, replacing any before; null: the key holds
 * nothing now (a tombstone). The value is a view into a buffer the restore drops right after (a
 * fetch response, the local copy's file): whatever is kept must be copied, or it would keep the
 * whole buffer alive.
 */
export type RestoreSink = (key: string, value: Buffer | null) => void;

export interface RestoredPartition {
  /** Values handed to the sink (a key written several times counts each time). */
  values: number;
  /** Tombstones handed to the sink. */
  tombstones: number;
  /**
   * Keys written after the last applied-offset marker (a step whose append took several requests
   * and did not finish), with their committed values (null: none). Never handed to the sink: the
   * next append must write these values first, so the abandoned ones are superseded (see
   * ChangelogFold).
   */
  rollback: Map<string, Buffer | null>;
  /** The last input offset folded into this state, or null when the partition never committed state. */
  appliedOffset: bigint | null;
  /** Changelog records read from Kafka (the local copy's are not counted). */
  records: number;
  /** The changelog offset this state reaches (its end when the restore began). */
  end: bigint;
  /** Whether a local copy was the base, so only the changelog's tail was read. */
  fromLocalCopy: boolean;
  ms: number;
}

/**
 * Fetch size of a restore: a value handed on is copied by the sink, so a response is dropped as
 * soon as its records are applied (at most two are held per partition, read-range.ts), and the GC
 * after the restores frees them (stateful-handler.ts). 4 MiB: at a million customers 16 MiB cost
 * more CPU and memory (10.7 CPU-s and 614 MB per million against 6.1–7.8 and 483–485; each large
 * buffer counts towards V8's full collections of a large heap), though at 200,000 it read faster;
 * 1 MiB was mostly round trips to a loaded broker (docs/performance.md).
 */
const RESTORE_FETCH_BYTES = 4 * 1024 * 1024;

/**
 * Restores one partition of a compacted changelog as it reads it: each committed value goes to
 * `apply` at once (a later one of the same key replaces it, a tombstone deletes), so no map of the
 * partition's values is built beside the state. Reads the local copy (`localCopy`, when it is not
 * past the changelog's end nor before its start, i.e. of this topic's incarnation) and then only
 * the records after it; otherwise the changelog from its first offset, writing a new copy as it
 * goes. The committed records read from Kafka go to the copy too (it is never ahead of the topic);
 * when the changelog ends with an unfinished step (rollback) the new copy is abandoned, and the
 * caller discards the copy.
 */
export async function restoreChangelog(
  kafka: Kafka,
  topic: string,
  partition: number,
  logger: Logger,
  o: { apply: RestoreSink; now?: () => number; localCopy?: LocalStateLog | null },
): Promise<RestoredPartition> {
  const now = o.now ?? Date.now;
  const started = now();
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const info = offsets.find((x) => x.partition === partition);
  const end = BigInt(info?.high ?? '0');
  const low = BigInt(info?.low ?? '0');
  const fits = (copyOffset: bigint) => copyOffset >= low && copyOffset <= end;
  let values = 0;
  let tombstones = 0;
  let writer: StateCopyWriter | null = null;
  const fold = new ChangelogFold({
    committed(key, value, at) {
      writer?.add(key, value);
      if (key === APPLIED_OFFSET_KEY) return;
      if (value === null) tombstones++;
      else values++;
      o.apply(key, value);
      // No step held: the copy may end after this record. A compacted changelog keeps one marker,
      // so its cleaned part, most of it, has none: waiting for markers, the copy's first frame
      // grew to the partition's size (~90 MiB a partition at a million customers) before a write.
      if (at !== null) writer?.commit(at + 1);
    },
    marker(at) {
      if (at !== null) writer?.commit(at + 1n);
    },
  });
  const copy = o.localCopy ?? null;
  // The copy holds committed state only, in any order (a compacted copy is one frame of its folded
  // state, the marker among the keys): all of it is passed on, the tail's steps then wait for their markers.
  const copyOffset = copy?.replay(fits, (key, value) => fold.addCopied(key, value)) ?? null;
  const usable = copyOffset !== null && fits(copyOffset);
  if (copyOffset !== null && !usable) logger.warn({ topic, partition, copy: copyOffset.toString(), low: low.toString(), end: end.toString() }, 'local state copy does not fit the changelog; reading it whole');
  const from = usable ? copyOffset : low;
  writer = copy?.writer(usable ? 'append' : 'fresh') ?? null;
  let records = 0;
  let kept: ReturnType<ChangelogFold['finish']>;
  try {
    if (end > from) {
      // The copy's frames are written as they fill, off this thread; the read waits when they are
      // behind (pace), so a slow disk does not hold the changelog in memory.
      records = await readPartitionRecords(kafka, { topic, partition, from, to: end, maxBytesPerPartition: RESTORE_FETCH_BYTES, pace: () => writer?.backlog() }, (key, value, at) =>
        fold.add(key ?? '', value, at),
      );
    }
    kept = fold.finish();
    if (kept.rollback.length === 0) await writer?.finish(end);
    else await writer?.abandon();
  } catch (error) {
    await writer?.abandon();
    throw error;
  }
  const rollback = new Map<string, Buffer | null>();
  if (kept.rollback.length > 0) {
    // Rare (a split step cut by a crash): the committed values of its keys are read again, from
    // what came before the last marker, rather than keeping every value for the case.
    for (const key of kept.rollback) rollback.set(key, null);
    const take = (key: string, value: Buffer | null) => {
      if (rollback.has(key)) rollback.set(key, value === null ? null : Buffer.from(value));
    };
    if (usable) copy!.replay(fits, take);
    if (kept.lastMarkerAt !== null) await readPartitionRecords(kafka, { topic, partition, from, to: kept.lastMarkerAt + 1n }, (key, value) => take(key ?? '', value));
    logger.warn({ topic, partition, keys: rollback.size }, 'changelog ends with an unfinished step: its state is rolled back to the last applied-offset marker');
  }
  const ms = now() - started;
  logger.info({ topic, partition, values, tombstones, records, fromLocalCopy: usable, ms }, 'state restored');
  return { values, tombstones, appliedOffset: kept.appliedOffset, rollback, records, end, fromLocalCopy: usable, ms };
}

/**
 * A whole partition of a compacted changelog as a map of its latest values (the values copied):
 * for a changelog of a few keys (the alerter's); a per-customer state restores through
 * `restoreChangelog` straight into its store.
 */
export async function restorePartition(kafka: Kafka, topic: string, partition: number, logger: Logger, now: () => number = Date.now): Promise<RestoredPartition & { entries: Map<string, Buffer> }> {
  const entries = new Map<string, Buffer>();
  const apply: RestoreSink = (key, value) => (value === null ? entries.delete(key) : entries.set(key, Buffer.from(value)));
  return { ...(await restoreChangelog(kafka, topic, partition, logger, { apply, now })), entries };
}

/**
 * Folds changelog records, in offset order, into the committed state, passing each committed record
 * on as soon as it is known to be committed. The applied-offset marker is the commit record of a
 * step: every append carries one, last. A step too large for one request goes as several appends
 * with the marker only in the last (stateful-handler.ts), so records after the last marker belong
 * to a step that did not finish: their inputs will be processed again, and applying them would
 * apply those inputs twice. They are left out, and reported as `rollback` (their keys) for the next
 * append to write the committed values first: once a later marker follows, the abandoned values
 * would otherwise count as committed. A changelog without any marker (never committed an input) is
 * taken whole.
 *
 * So only records after a marker wait (one step's, until the next marker): before the first marker
 * every record is committed either way (by that marker, or as a changelog taken whole), and is
 * passed on at once.
 */
export class ChangelogFold {
  private readonly pending = new Map<string, Buffer | null>();
  private appliedOffset: bigint | null = null;
  private marked = false;
  private lastMarkerAt: bigint | null = null;

  /**
   * `committed`: each committed record in offset order, markers included (a local copy keeps them),
   * with its changelog offset when it is passed on as it is read, no step held (so the committed
   * state is the topic's up to it), else null (a held step's record, a marker, a local copy's);
   * `marker`: after each marker's step was passed on, with the marker's changelog offset (null: a
   * local copy's).
   */
  constructor(private readonly out: { committed(key: string, value: Buffer | null, at: number | null): void; marker?(at: bigint | null): void }) {}

  /** One record; `at` is its changelog offset (null: from a local copy). */
  add(key: string, value: Buffer | null, at: number | null): void {
    if (key !== APPLIED_OFFSET_KEY) {
      if (!this.marked) this.out.committed(key, value, at);
      else this.pending.set(key, value);
      return;
    }
    for (const [k, v] of this.pending) this.out.committed(k, v, null);
    this.pending.clear();
    this.marked = true;
    this.appliedOffset = value ? BigInt(value.toString('utf8')) : null;
    this.lastMarkerAt = at === null ? null : BigInt(at);
    this.out.committed(key, value, null);
    this.out.marker?.(this.lastMarkerAt);
  }

  /**
   * One entry of a local copy, read before the changelog's tail: committed, as everything in the
   * copy is (its frames end only where the committed state reaches, see restoreChangelog and
   * stateful-handler's copyLocally), so it is passed on at once, wherever the marker is among the
   * entries. A compacted copy is one frame of its folded state in the order keys first appeared,
   * the marker early among them: taken through `add`, every key after the marker was held as an
   * unfinished step, so a restore from a copy compacted by the last flush, with no marker after
   * it, handed the processor almost none of its customers (and wrote them back as a rollback).
   */
  addCopied(key: string, value: Buffer | null): void {
    if (key === APPLIED_OFFSET_KEY) {
      this.marked = true;
      this.appliedOffset = value ? BigInt(value.toString('utf8')) : null;
      this.lastMarkerAt = null;
    }
    this.out.committed(key, value, null);
  }

  /** Keys of the unfinished step (passed on never), the last marker's offsets. */
  finish(): { appliedOffset: bigint | null; rollback: string[]; lastMarkerAt: bigint | null } {
    const rollback = [...this.pending.keys()];
    this.pending.clear();
    return { appliedOffset: this.appliedOffset, rollback, lastMarkerAt: this.lastMarkerAt };
  }
}
