import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { readPartitionRange } from '../../services/platform/kafka/read-range.js';
import { membersOf } from '../../services/platform/kafka/record-bundle.js';

/**
 * Every record of a topic, all partitions, from the start to its end now, bundles unpacked
 * (record-bundle.ts); `value` is null for a tombstone.
 */
export async function readAll(kafka: Kafka, topic: string, onRecord: (value: Buffer | null, key: string) => void): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  for (const o of offsets) {
    await readPartitionRange(kafka, { topic, partition: o.partition, from: BigInt(o.low), to: BigInt(o.high) }, (m) => {
      for (const member of membersOf(m)) onRecord(member.value, member.key?.toString('utf8') ?? '');
    });
  }
}

/** A metric's value summed over the series whose labels include `labels`. */
export async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = (await registry.getSingleMetric(name)!.get()).values;
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((n, v) => n + v.value, 0);
}
