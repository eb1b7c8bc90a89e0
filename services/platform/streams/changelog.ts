import type { Kafka } from 'kafkajs';
import { randomUUID } from 'node:crypto';
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
 * Reads one partition of a compacted changelog from the beginning to its current end. kafkajs has
 * no manual assignment, so a throwaway group subscribes to the topic, pauses the other partitions,
 * and stops once the wanted partition's high watermark is reached.
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

  const groupId = `restore-${topic}-${partition}-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50, allowAutoTopicCreation: false, maxBytesPerPartition: 8 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let resolveDone: () => void = () => {};
  let rejectDone: (error: Error) => void = () => {};
  const done = new Promise<void>((resolve, reject) => ((resolveDone = resolve), (rejectDone = reject)));
  // A reader that kafkajs will not restart (a broker restart mid-restore) would leave the restore
  // waiting forever: fail it instead, so the caller's retry starts a new one.
  consumer.on(consumer.events.CRASH, (event) => {
    if (!event.payload.restart) rejectDone(new Error(`changelog restore of ${topic}[${partition}] failed: ${String(event.payload.error?.message ?? 'crash')}`));
  });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    const others = (offsets.map((o) => o.partition) as number[]).filter((p) => p !== partition);
    if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
  });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      if (batch.partition !== partition) return;
      for (const m of batch.messages) {
        records++;
        const key = m.key?.toString('utf8') ?? '';
        if (key === APPLIED_OFFSET_KEY) {
          appliedOffset = m.value ? BigInt(m.value.toString('utf8')) : null;
        } else if (m.value === null) {
          entries.delete(key);
        } else {
          entries.set(key, m.value);
        }
        if (BigInt(m.offset) + 1n >= end) resolveDone();
      }
    },
  });
  try {
    await done;
  } finally {
    await consumer.stop().catch(() => undefined);
    await consumer.disconnect().catch(() => undefined);
  }
  const admin2 = kafka.admin();
  await admin2.connect();
  await admin2.deleteGroups([groupId]).catch(() => undefined);
  await admin2.disconnect();
  const ms = now() - started;
  logger.info({ topic, partition, keys: entries.size, records, ms }, 'state restored from changelog');
  return { entries, appliedOffset, records, ms };
}
