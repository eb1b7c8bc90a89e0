import type { Kafka } from 'kafkajs';
import { readPartitionRange } from '../kafka/read-range.js';
import type { Logger } from '../logging/logger.js';

/** The key under which a partition's changelog records the last input offset its state includes. */
export const APPLIED_OFFSET_KEY = '__applied_offset__';

export interface RestoredPartition {
  /** Latest value per key (tombstoned keys are absent). */
  entries: Map<string, Buffer>;
  /** The last input offset folded into this state, or null when the partition never committed state. */
  appliedOffset: bigint | null;
  records: number;
  ms: number;
}

/**
 * Reads one partition of a compacted changelog from the beginning to its current end
 * (readPartitionRange), keeping the latest value per key and the applied-offset marker.
 */
export async function restorePartition(
  kafka: Kafka,
  topic: string,
  partition: number,
  logger: Logger,
  now: () => number = Date.now,
): Promise<RestoredPartition> {
  const started = now();
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const info = offsets.find((o) => o.partition === partition);
  const end = BigInt(info?.high ?? '0');
  const low = BigInt(info?.low ?? '0');
  const entries = new Map<string, Buffer>();
  let appliedOffset: bigint | null = null;
  let records = 0;
  if (end <= low) return { entries, appliedOffset, records, ms: now() - started };

  records = await readPartitionRange(kafka, { topic, partition, from: low, to: end }, (m) => {
    const key = m.key?.toString('utf8') ?? '';
    if (key === APPLIED_OFFSET_KEY) appliedOffset = m.value ? BigInt(m.value.toString('utf8')) : null;
    else if (m.value === null) entries.delete(key);
    else entries.set(key, m.value);
  });
  const ms = now() - started;
  logger.info({ topic, partition, keys: entries.size, records, ms }, 'state restored from changelog');
  return { entries, appliedOffset, records, ms };
}
