import type { Kafka } from 'kafkajs';
import { readPartitionRange } from '../kafka/read-range.js';
import type { Logger } from '../logging/logger.js';
import type { LoadedState } from './local-state-log.js';

/** The key under which a partition's changelog records the last input offset its state includes. */
export const APPLIED_OFFSET_KEY = '__applied_offset__';

export interface RestoredPartition {
  /** Latest committed value per key (tombstoned keys are absent). */
  entries: Map<string, Buffer>;
  /**
   * Keys written after the last applied-offset marker (a step whose append took several requests
   * and did not finish), with their committed values (null: none). Not in `entries`' newer form: the
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
 * Reads one partition of a compacted changelog to its current end (readPartitionRange), keeping
 * the latest value per key and the applied-offset marker. With a usable local copy (one that is
 * not past the changelog's end nor before its start, i.e. of this topic's incarnation), reads only
 * the records after it; otherwise from the first offset.
 */
export async function restorePartition(
  kafka: Kafka,
  topic: string,
  partition: number,
  logger: Logger,
  now: () => number = Date.now,
  localCopy: LoadedState | null = null,
): Promise<RestoredPartition> {
  const started = now();
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const info = offsets.find((o) => o.partition === partition);
  const end = BigInt(info?.high ?? '0');
  const low = BigInt(info?.low ?? '0');
  const usable = localCopy !== null && localCopy.nextOffset >= low && localCopy.nextOffset <= end;
  if (localCopy !== null && !usable) logger.warn({ topic, partition, copy: localCopy.nextOffset.toString(), low: low.toString(), end: end.toString() }, 'local state copy does not fit the changelog; reading it whole');
  const fold = new ChangelogFold(usable ? localCopy.entries : new Map<string, Buffer>());
  const from = usable ? localCopy.nextOffset : low;
  let records = 0;
  if (end > from) {
    records = await readPartitionRange(kafka, { topic, partition, from, to: end }, (m) => fold.add(m.key?.toString('utf8') ?? '', m.value));
  }
  const { entries, appliedOffset, rollback } = fold.finish();
  const ms = now() - started;
  if (rollback.size > 0) logger.warn({ topic, partition, keys: rollback.size }, 'changelog ends with an unfinished step: its state is rolled back to the last applied-offset marker');
  logger.info({ topic, partition, keys: entries.size, records, fromLocalCopy: usable, ms }, 'state restored');
  return { entries, appliedOffset, rollback, records, end, fromLocalCopy: usable, ms };
}

/**
 * Folds changelog records, in offset order, into the committed state. The applied-offset marker is
 * the commit record of a step: every append carries one, last. A step too large for one request
 * goes as several appends with the marker only in the last (stateful-handler.ts), so records after
 * the last marker belong to a step that did not finish: their inputs will be processed again, and
 * applying them would apply those inputs twice. They are left out, and reported as `rollback` (the
 * committed value of each such key) for the next append to write first: once a later marker
 * follows, the abandoned values would otherwise count as committed. A changelog without any marker
 * (never committed an input) is taken whole.
 */
export class ChangelogFold {
  private readonly pending = new Map<string, Buffer | null>();
  private appliedOffset: bigint | null = null;
  private marked = false;

  /** `base`: a committed state (a local copy, marker included). */
  constructor(private readonly entries: Map<string, Buffer>) {
    const marker = entries.get(APPLIED_OFFSET_KEY);
    if (marker !== undefined) {
      this.appliedOffset = BigInt(marker.toString('utf8'));
      this.marked = true;
      entries.delete(APPLIED_OFFSET_KEY);
    }
  }

  add(key: string, value: Buffer | null): void {
    if (key !== APPLIED_OFFSET_KEY) {
      this.pending.set(key, value);
      return;
    }
    this.marked = true;
    this.appliedOffset = value ? BigInt(value.toString('utf8')) : null;
    this.commitPending();
  }

  finish(): { entries: Map<string, Buffer>; appliedOffset: bigint | null; rollback: Map<string, Buffer | null> } {
    const rollback = new Map<string, Buffer | null>();
    if (!this.marked) this.commitPending();
    for (const key of this.pending.keys()) rollback.set(key, this.entries.get(key) ?? null);
    this.pending.clear();
    return { entries: this.entries, appliedOffset: this.appliedOffset, rollback };
  }

  private commitPending(): void {
    for (const [key, value] of this.pending) {
      if (value === null) this.entries.delete(key);
      else this.entries.set(key, value);
    }
    this.pending.clear();
  }
}

/** The state as changelog entries again, marker included (what a local copy holds). */
export function* changelogEntries(restored: Pick<RestoredPartition, 'entries' | 'appliedOffset'>): Iterable<[string, Buffer]> {
  yield* restored.entries;
  if (restored.appliedOffset !== null) yield [APPLIED_OFFSET_KEY, Buffer.from(restored.appliedOffset.toString())];
}
