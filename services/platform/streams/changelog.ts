import type { Kafka } from 'kafkajs';
import { readPartitionRange } from '../kafka/read-range.js';
import type { Logger } from '../logging/logger.js';
import type { LoadedState } from './local-state-log.js';

/** The key under which a partition's changelog records the last input offset its state includes. */
export const APPLIED_OFFSET_KEY = '__applied_offset__';

export interface RestoredPartition {
  /** Latest value per key (tombstoned keys are absent). */
  entries: Map<string, Buffer>;
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
  const entries = usable ? localCopy.entries : new Map<string, Buffer>();
  let appliedOffset: bigint | null = null;
  const marker = entries.get(APPLIED_OFFSET_KEY);
  if (marker !== undefined) {
    appliedOffset = BigInt(marker.toString('utf8'));
    entries.delete(APPLIED_OFFSET_KEY);
  }
  const from = usable ? localCopy.nextOffset : low;
  let records = 0;
  if (end > from) {
    records = await readPartitionRange(kafka, { topic, partition, from, to: end }, (m) => {
      const key = m.key?.toString('utf8') ?? '';
      if (key === APPLIED_OFFSET_KEY) appliedOffset = m.value ? BigInt(m.value.toString('utf8')) : null;
      else if (m.value === null) entries.delete(key);
      else entries.set(key, m.value);
    });
  }
  const ms = now() - started;
  logger.info({ topic, partition, keys: entries.size, records, fromLocalCopy: usable, ms }, 'state restored');
  return { entries, appliedOffset, records, end, fromLocalCopy: usable, ms };
}

/** The state as changelog entries again, marker included (what a local copy holds). */
export function* changelogEntries(restored: Pick<RestoredPartition, 'entries' | 'appliedOffset'>): Iterable<[string, Buffer]> {
  yield* restored.entries;
  if (restored.appliedOffset !== null) yield [APPLIED_OFFSET_KEY, Buffer.from(restored.appliedOffset.toString())];
}
