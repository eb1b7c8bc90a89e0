import type { Kafka } from 'kafkajs';
import { groupLag, groupPosition } from '../faults/quiescence.js';
import { eventually } from './eventually.js';

/** A consumer group and the topics it reads. */
export interface GroupOnTopics {
  groupId: string;
  topics: string[];
}

/**
 * Waits until every group, in the order given (upstream first), has committed every message on its
 * topics. Each service commits an input only after the outputs it caused were sent (and the writer
 * only after ClickHouse acknowledged the rows), so once this resolves everything produced before
 * the call has gone through the whole pipeline: counts read afterwards are final, and a record
 * processed twice would be in them. Admin calls that fail (the broker busy) are asked again.
 */
export async function waitForDrained(kafka: Kafka, groups: GroupOnTopics[], timeoutMs = 90_000): Promise<void> {
  for (const group of groups) {
    await eventually(
      () => groupLag(kafka, group.groupId, group.topics).catch(() => -1),
      (lag) => lag === 0,
      timeoutMs,
      250,
      `group ${group.groupId} drained (lag 0 on ${group.topics.join(', ')})`,
    );
  }
}

/** Messages ever written to `topic` (sum of the partitions' end offsets; no transactions here). */
export async function messagesIn(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** What `group` has committed on its topics, summed over partitions (-1 while the broker does not answer). */
export async function committedBy(kafka: Kafka, group: GroupOnTopics): Promise<number> {
  return groupPosition(kafka, group.groupId, group.topics).then(
    (p) => p.committed,
    () => -1,
  );
}
