import type { Kafka, KafkaMessage } from 'kafkajs';
import { randomUUID } from 'node:crypto';

/**
 * Reads offsets [from, to) of one partition and stops. kafkajs has no manual assignment, so a
 * throwaway group subscribes to the topic, pauses the other partitions and seeks to `from`.
 * A reader that kafkajs will not restart (a broker restart mid-read) fails the read instead of
 * leaving it waiting forever; the caller retries.
 */
export async function readPartitionRange(
  kafka: Kafka,
  range: { topic: string; partition: number; from: bigint; to: bigint; maxBytesPerPartition?: number },
  onMessage: (message: KafkaMessage) => void,
): Promise<number> {
  const { topic, partition, from, to } = range;
  if (to <= from) return 0;
  const groupId = `read-${topic}-${partition}-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50, allowAutoTopicCreation: false, maxBytesPerPartition: range.maxBytesPerPartition ?? 8 * 1024 * 1024 });
  let read = 0;
  let resolveDone: () => void = () => {};
  let rejectDone: (error: Error) => void = () => {};
  const done = new Promise<void>((resolve, reject) => ((resolveDone = resolve), (rejectDone = reject)));
  consumer.on(consumer.events.CRASH, (event) => {
    if (!event.payload.restart) rejectDone(new Error(`reading ${topic}[${partition}] failed: ${String(event.payload.error?.message ?? 'crash')}`));
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      const assigned = (event.payload.memberAssignment as Record<string, number[]>)[topic] ?? [];
      const others = assigned.filter((p) => p !== partition);
      if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (batch.partition !== partition) return;
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          if (offset < from) continue;
          if (offset >= to) return resolveDone();
          onMessage(m);
          read++;
          if (offset + 1n >= to) return resolveDone();
        }
      },
    });
    consumer.seek({ topic, partition, offset: from.toString() });
    await done;
  } finally {
    await consumer.stop().catch(() => undefined);
    await consumer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => admin.disconnect());
  }
  return read;
}
