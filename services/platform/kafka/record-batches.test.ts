import fc from 'fast-check';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { fetchedPartitionV11, forEachRecord, recordBatches } from './record-batches.js';

// kafkajs' own encoder and decoder of record batches: what the broker stores is what its producer
// wrote, and what a read in place hands on must be what kafkajs would have decoded.
const kafkajs = createRequire(import.meta.url);
const { RecordBatch } = kafkajs('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (o: object) => Promise<{ buffer: Buffer }> };
const Record = kafkajs('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (o: object) => unknown;
const Decoder = kafkajs('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => unknown;
const decodeMessages = kafkajs('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js') as (d: unknown) => Promise<Array<{ key: Buffer | null; value: Buffer | null; offset: string }>>;

interface Rec {
  key: string | null;
  value: Buffer | null;
  /** Offset delta within its batch (gaps: records compaction removed). */
  delta: number;
  headers?: Record<string, string>;
}

const batch = (firstOffset: number, records: Rec[], o: { lastOffsetDelta?: number; compression?: number } = {}) =>
  RecordBatch({
    firstOffset: String(firstOffset),
    firstTimestamp: 1_700_000_000_000,
    maxTimestamp: 1_700_000_000_000,
    lastOffsetDelta: o.lastOffsetDelta ?? records.at(-1)?.delta ?? 0,
    compression: o.compression ?? 0,
    records: records.map((r, i) =>
      Record({ offsetDelta: r.delta, timestampDelta: i * 1_000_003, key: r.key === null ? null : Buffer.from(r.key), value: r.value, headers: r.headers ?? {} }),
    ),
  }).then((e) => e.buffer);

type Seen = [string | null, string | null, number];
const inPlace = async (records: Buffer, from = 0, to = Infinity): Promise<Seen[]> => {
  const seen: Seen[] = [];
  for (const b of await recordBatches(records)) forEachRecord(b, from, to, (key, value, offset) => seen.push([key, value?.toString('hex') ?? null, offset]));
  return seen;
};
const byKafkajs = async (records: Buffer): Promise<Seen[]> => {
  const sized = Buffer.alloc(4 + records.length);
  sized.writeInt32BE(records.length, 0);
  records.copy(sized, 4);
  return (await decodeMessages(new Decoder(sized))).map((m) => [m.key?.toString('utf8') ?? null, m.value?.toString('hex') ?? null, Number(m.offset)]);
};

describe('record batches read in place', () => {
  it('hand on what kafkajs decodes: keys, values and offsets of every batch, nulls, headers, gaps and gzip', async () => {
    const rec = fc.record({
      key: fc.option(fc.string({ unit: 'grapheme', maxLength: 30 }), { nil: null }),
      value: fc.option(fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)), { nil: null }),
      gap: fc.nat(3),
      headers: fc.option(fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.array(rec, { minLength: 1, maxLength: 20 }), fc.boolean()), { minLength: 1, maxLength: 4 }), async (batches) => {
        const parts: Buffer[] = [];
        let offset = 100_000_000_000; // above 2^32: both halves of the i64 count
        for (const [records, gzip] of batches) {
          let delta = -1;
          const withDeltas = records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, delta: (delta += 1 + r.gap) }));
          parts.push(await batch(offset, withDeltas, { compression: gzip ? 1 : 0 }));
          offset += delta + 1;
        }
        const records = Buffer.concat(parts);
        const seen = await inPlace(records);
        expect(seen).toEqual(await byKafkajs(records));
        expect(seen.length).toBe(batches.reduce((n, [r]) => n + r.length, 0));
      }),
      { numRuns: 60 },
    );
  });

  it('leave a batch cut short by the fetch for the next one, and give each batch the offset after it', async () => {
    const first = await batch(10, [
      { key: 'a', value: Buffer.from('1'), delta: 0 },
      { key: 'b', value: null, delta: 2 },
    ]);
    // Compaction removed the last records of this batch: the next offset is after its last delta, not its last record.
    const second = await batch(13, [{ key: 'é', value: Buffer.from('2'), delta: 0 }], { lastOffsetDelta: 4 });
    const third = await batch(18, [{ key: 'c', value: Buffer.from('3'), delta: 0 }]);
    const all = Buffer.concat([first, second, third]);
    const batches = await recordBatches(all.subarray(0, all.length - 3));
    expect(batches.map((b) => [b.baseOffset, b.nextOffset, b.count])).toEqual([
      [10, 13, 2],
      [13, 18, 1],
    ]);
    expect(await inPlace(all)).toEqual([
      ['a', '31', 10],
      ['b', null, 12],
      ['é', '32', 13],
      ['c', '33', 18],
    ]);
    // [from, to): only records in it.
    expect(await inPlace(all, 11, 18)).toEqual([
      ['b', null, 12],
      ['é', '32', 13],
    ]);
  });

  it('skip control batches (transaction markers) but count their offsets', async () => {
    const control = await batch(5, [{ key: 'marker', value: Buffer.from('x'), delta: 0 }]);
    control.writeInt16BE(control.readInt16BE(21) | 0x20, 21);
    const data = await batch(6, [{ key: 'k', value: Buffer.from('v'), delta: 0 }]);
    const batches = await recordBatches(Buffer.concat([control, data]));
    expect(batches.map((b) => [b.control, b.nextOffset])).toEqual([
      [true, 6],
      [false, 7],
    ]);
    expect(await inPlace(Buffer.concat([control, data]))).toEqual([['k', '76', 6]]);
  });
});

describe('fetch response v11', () => {
  /** A response of one topic with `partitions`, each [id, error, aborted transactions, record set]. */
  const response = (partitions: Array<[number, number, number, Buffer | null]>, errorCode = 0) => {
    const parts: Buffer[] = [];
    const head = Buffer.alloc(14);
    head.writeInt16BE(errorCode, 4);
    head.writeInt32BE(1, 10);
    parts.push(head, Buffer.from([0, 5]), Buffer.from('topic'), Buffer.from([0, 0, 0, partitions.length]));
    for (const [id, error, aborted, records] of partitions) {
      const p = Buffer.alloc(4 + 2 + 24 + 4 + aborted * 16 + 4 + 4);
      p.writeInt32BE(id, 0);
      p.writeInt16BE(error, 4);
      p.writeInt32BE(aborted === 0 ? -1 : aborted, 30);
      p.writeInt32BE(-1, 34 + aborted * 16);
      p.writeInt32BE(records === null ? -1 : records.length, 38 + aborted * 16);
      parts.push(p, records ?? Buffer.alloc(0));
    }
    return Buffer.concat(parts);
  };

  it('finds the partition asked for, past others and their aborted transactions', () => {
    const payload = response([
      [0, 0, 2, Buffer.from('zero')],
      [3, 0, 0, Buffer.from('three')],
    ]);
    expect(fetchedPartitionV11(payload, 3)).toEqual({ errorCode: 0, records: Buffer.from('three') });
    expect(fetchedPartitionV11(payload, 0)).toEqual({ errorCode: 0, records: Buffer.from('zero') });
    expect(fetchedPartitionV11(response([[1, 0, 0, null]]), 1)).toEqual({ errorCode: 0, records: null });
  });

  it('reports the error of the response or of the partition', () => {
    expect(fetchedPartitionV11(response([[1, 1, 0, null]]), 1).errorCode).toBe(1);
    expect(fetchedPartitionV11(response([], 7), 1)).toEqual({ errorCode: 7, records: null });
  });
});
