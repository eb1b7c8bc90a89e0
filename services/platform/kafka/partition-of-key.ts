import { Partitioners } from 'kafkajs';

const partitioner = Partitioners.DefaultPartitioner();

type PartitionMetadata = Parameters<typeof partitioner>[0]['partitionMetadata'];
/** The partitioner's view of a topic with n partitions, built once per n (it is only read). */
const metadataByCount = new Map<number, PartitionMetadata>();

/**
 * The partition a keyed record goes to among `partitions`, by the partitioner the project's
 * producer uses (producer.ts; Java-compatible murmur2): for a reader that must know where a record
 * went without reading it from Kafka (e.g. `verify` working out the touchpoints partitions'
 * watermarks), and for the bundling producer, which places records itself.
 */
export function partitionOfKey(topic: string, key: string | Buffer, partitions: number): number {
  let partitionMetadata = metadataByCount.get(partitions);
  if (!partitionMetadata) {
    partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], offlineReplicas: [], partitionErrorCode: 0 }));
    metadataByCount.set(partitions, partitionMetadata);
  }
  return partitioner({ topic, partitionMetadata, message: { key, value: null } });
}
