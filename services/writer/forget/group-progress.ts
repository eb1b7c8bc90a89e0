import type { Kafka } from 'kafkajs';

/** The end offset of every partition of `topic` now: what a group must pass to have read everything sent before. */
export async function topicEnds(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Whether `groupId` has committed at least `ends` on every partition of `topic`: each step commits
 * an input only after the outputs it caused were sent (the writer: after ClickHouse took the rows),
 * so everything sent before `ends` was taken was processed. A partition never committed counts as 0.
 */
export async function groupHasPassed(kafka: Kafka, groupId: string, topic: string, ends: ReadonlyMap<number, bigint>): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    // kafkajs reports a partition the group never committed as -1.
    const committed = new Map((offsets?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset) < 0n ? 0n : BigInt(p.offset)]));
    for (const [partition, end] of ends) if ((committed.get(partition) ?? 0n) < end) return false;
    return true;
  } finally {
    await admin.disconnect();
  }
}
