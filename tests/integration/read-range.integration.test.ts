import { describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { ensureTopics } from '../../services/platform/kafka/admin.js';
import { createKafkaProducer } from '../../services/platform/kafka/producer.js';
import { readPartitionRange, readPartitionRecords } from '../../services/platform/kafka/read-range.js';
import { eventually } from '../support/eventually.js';
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

  it('reads the record batches in place (readPartitionRecords): the same keys, values and offsets, gzip batches too', async () => {
    const topic = `${uniquePrefix()}range-raw`;
    await ensureTopics(kafka, [{ topic, partitions: 2 }]);
    const plain = createKafkaProducer(kafka, { name: 'range-raw' });
    const gzip = createKafkaProducer(kafka, { name: 'range-raw-gzip', compression: true });
    await plain.start();
    await gzip.start();
    try {
      for (let send = 0; send < 4; send++) {
        const producer = send % 2 === 0 ? plain : gzip;
        await producer.send(Array.from({ length: 300 }, (_, i) => ({ topic, key: i % 7 === 0 ? null : `k${send}-${i}-é`, value: i % 11 === 0 ? null : Buffer.alloc(400, send * 300 + i), partition: 1 })));
      }
    } finally {
      await plain.stop();
      await gzip.stop();
    }
    const both = async (from: bigint, to: bigint, maxBytesPerPartition?: number) => {
      const decoded: Array<[string | null, string | null, number]> = [];
      await readPartitionRange(kafka, { topic, partition: 1, from, to, maxBytesPerPartition }, (m) => decoded.push([m.key?.toString('utf8') ?? null, m.value?.toString('hex') ?? null, Number(m.offset)]));
      const inPlace: Array<[string | null, string | null, number]> = [];
      const count = await readPartitionRecords(kafka, { topic, partition: 1, from, to, maxBytesPerPartition }, (key, value, offset) => inPlace.push([key, value?.toString('hex') ?? null, offset]));
      expect(count).toBe(inPlace.length);
      return { decoded, inPlace };
    };
    const whole = await both(0n, 1_200n, 16 * 1024);
    expect(whole.inPlace).toHaveLength(1_200);
    expect(whole.inPlace.map(([, , offset]) => offset)).toEqual(Array.from({ length: 1_200 }, (_, i) => i));
    expect(whole.inPlace).toEqual(whole.decoded);
    const inside = await both(295n, 905n);
    expect(inside.inPlace).toHaveLength(610);
    expect(inside.inPlace).toEqual(inside.decoded);
  });

  it('reads a changelog the broker compacted (gaps, emptied batches, tombstones) as kafkajs does', async () => {
    const topic = `${uniquePrefix()}range-compacted`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      // Segments that roll at once and a cleaner that takes any dirty part: compacted within seconds.
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic,
            numPartitions: 1,
            configEntries: [
              { name: 'cleanup.policy', value: 'compact' },
              { name: 'segment.ms', value: '100' },
              { name: 'min.cleanable.dirty.ratio', value: '0.01' },
              { name: 'min.compaction.lag.ms', value: '0' },
            ],
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    const plain = createKafkaProducer(kafka, { name: 'range-compacted' });
    const gzip = createKafkaProducer(kafka, { name: 'range-compacted-gzip', compression: true });
    await plain.start();
    await gzip.start();
    const latest = new Map<string, string | null>();
    let sends = 0;
    const send = async () => {
      const n = sends++;
      // 20 keys rewritten by every send; every third send deletes a few and a marker-like key moves on.
      const records = Array.from({ length: 20 }, (_, i) => ({ topic, key: `k${i}`, value: n % 3 === 2 && i % 4 === 0 ? null : Buffer.from(`k${i}@${n}`), partition: 0 }));
      records.push({ topic, key: '__applied_offset__', value: Buffer.from(String(n)), partition: 0 });
      await (n % 2 === 0 ? plain : gzip).send(records);
      for (const r of records) latest.set(r.key, r.value?.toString() ?? null);
    };
    const readBoth = async () => {
      const a = kafka.admin();
      await a.connect();
      const [p] = await a.fetchTopicOffsets(topic).finally(() => a.disconnect());
      const from = BigInt(p!.low);
      const to = BigInt(p!.high);
      const decoded: Array<[string | null, string | null, number]> = [];
      await readPartitionRange(kafka, { topic, partition: 0, from, to, maxBytesPerPartition: 2 * 1024 }, (m) => decoded.push([m.key?.toString() ?? null, m.value?.toString() ?? null, Number(m.offset)]));
      const inPlace: Array<[string | null, string | null, number]> = [];
      await readPartitionRecords(kafka, { topic, partition: 0, from, to, maxBytesPerPartition: 2 * 1024 }, (key, value, offset) => inPlace.push([key, value?.toString() ?? null, offset]));
      // Read through kafkajs again: equal to the first read, no cleaning ran between the two readers.
      const decodedAfter: typeof decoded = [];
      await readPartitionRange(kafka, { topic, partition: 0, from, to, maxBytesPerPartition: 2 * 1024 }, (m) => decodedAfter.push([m.key?.toString() ?? null, m.value?.toString() ?? null, Number(m.offset)]));
      return { decoded, inPlace, end: Number(to), stable: JSON.stringify(decoded) === JSON.stringify(decodedAfter) };
    };
    try {
      // Sends until the cleaner has removed records (fewer records than offsets), each send rolling a segment.
      await eventually(
        async () => {
          await send();
          return readBoth();
        },
        (r) => r.inPlace.length < r.end - 21 * 3,
        120_000,
        300,
        'the changelog compacted',
      );
      // Then, with no more sends (no segment rolls), reads until the cleaner left the log alone while both
      // readers read it: under load it may still be cleaning, and the two reads would see different logs.
      const read = await eventually(readBoth, (r) => r.stable, 120_000, 300, 'the compacted changelog at rest');
      expect(read.inPlace).toEqual(read.decoded);
      // Offsets ascend with gaps; the fold of what is read is the latest value of every key.
      expect(read.inPlace.every(([, , o], i, all) => i === 0 || o > all[i - 1]![2])).toBe(true);
      const folded = new Map<string, string | null>();
      for (const [k, v] of read.inPlace) folded.set(k!, v);
      expect(Object.fromEntries(folded)).toEqual(Object.fromEntries(latest));
    } finally {
      await plain.stop();
      await gzip.stop();
    }
  });
});
