import { Partitioners } from 'kafkajs';

const partitioner = Partitioners.DefaultPartitioner();

/**
 * The partition a keyed record goes to among `partitions`, by the partitioner the project's
 * producer uses (producer.ts): for a reader that must know where a record went without reading it
 * from Kafka (e.g. `verify` working out the touchpoints partitions' watermarks).
 */
export function partitionOfKey(topic: string, key: string, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], offlineReplicas: [], partitionErrorCode: 0 }));
  return partitioner({ topic, partitionMetadata, message: { key, value: null } });
}
