import './kafkajs-patches.js';
import { Partitioners, type ICustomPartitioner } from 'kafkajs';
import { partitionOfHash } from './murmur2.js';

/**
 * The partition a keyed record goes to among `partitions`, by the partitioner the project's
 * producer uses (Java-compatible murmur2, see `journeyPartitioner`): for a reader that must know
 * where a record went without reading it from Kafka (e.g. `verify` working out the touchpoints
 * partitions' watermarks), and for the bundling producer, which places records itself.
 */
export function partitionOfKey(_topic: string, key: string | Buffer, partitions: number): number {
  return partitionOfHash(key, partitions);
}

/**
 * kafkajs' DefaultPartitioner (Java-compatible murmur2, so keys land where Kafka Streams would put
 * them) with the hash computed on 32-bit integers (murmur2.ts) instead of Long objects; keyless
 * records are left to kafkajs' own round robin.
 */
export const journeyPartitioner: ICustomPartitioner = () => {
  const fallback = Partitioners.DefaultPartitioner();
  return (args) => {
    const { message, partitionMetadata } = args;
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key !== null && message.key !== undefined) return partitionOfHash(message.key, partitionMetadata.length);
    return fallback(args);
  };
};
