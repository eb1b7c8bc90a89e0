import { describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { ensureTopics } from '../../services/platform/kafka/admin.js';
import { createKafkaProducer } from '../../services/platform/kafka/producer.js';
import { readPartitionRange } from '../../services/platform/kafka/read-range.js';
import { uniquePrefix } from '../support/kafka.js';
import { testKafka } from '../support/pipeline.js';

describe('readPartitionRange on the real broker (no consumer group)', () => {
  const kafka = testKafka('read-range');

  it('passes on exactly the records of [from, to) of one partition, in order, across many fetches', async () => {
    const topic = `${uniquePrefix()}range`;
    await ensureTopics(kafka, [{ topic, partitions: 2 }]);
    const producer = createKafkaProducer(kafka, { name: 'range' });
    await producer.start();
    try {
      // 3 sends of 400 records to partition 1 (three record batches), 50 to partition 0.
      for (let send = 0; send < 3; send++) {
        await producer.send(Array.from({ length: 400 }, (_, i) => ({ topic, key: `k${send * 400 + i}`, value: Buffer.alloc(500, send), partition: 1 })));
      }
      await producer.send(Array.from({ length: 50 }, (_, i) => ({ topic, key: `other${i}`, value: Buffer.from('x'), partition: 0 })));
    } finally {
      await producer.stop();
    }
    const read = async (from: bigint, to: bigint, maxBytesPerPartition?: number) => {
      const seen: KafkaMessage[] = [];
      const count = await readPartitionRange(kafka, { topic, partition: 1, from, to, maxBytesPerPartition }, (m) => seen.push(m));
      expect(count).toBe(seen.length);
      return seen.map((m) => [Number(m.offset), m.key!.toString()]);
    };
    const expected = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => [from + i, `k${from + i}`]);
    // Small fetches (16 KiB of 500-byte records): the range spans dozens of fetches and all three batches.
    expect(await read(0n, 1_200n, 16 * 1024)).toEqual(expected(0, 1_200));
    // A range starting and ending inside batches.
    expect(await read(395n, 805n)).toEqual(expected(395, 805));
    expect(await read(7n, 7n)).toEqual([]);
  });
});
