import { describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { createBundlingProducer } from './bundling-producer.js';
import { partitionOfKey } from './partition-of-key.js';
import type { OutgoingRecord, RecordProducer } from './producer.js';
import { membersOf } from './record-bundle.js';

function capture(): RecordProducer & { sent: OutgoingRecord[][] } {
  const sent: OutgoingRecord[][] = [];
  return { sent, send: async (records) => void sent.push(records) };
}

/** What a consumer of (topic, partition) reads from the sends, member by member. */
function read(sent: OutgoingRecord[][], topic: string, partition: number, partitions: number): Array<[string | null, string]> {
  const out: Array<[string | null, string]> = [];
  for (const send of sent)
    for (const r of send) {
      if (r.topic !== topic) continue;
      const p = r.partition ?? partitionOfKey(topic, r.key!, partitions);
      if (p !== partition) continue;
      const msg = { key: r.key === null ? null : Buffer.from(r.key), value: r.value, headers: r.headers ?? {}, offset: '0', timestamp: '0', attributes: 0 } as KafkaMessage;
      for (const m of membersOf(msg)) out.push([m.key?.toString() ?? null, m.value!.toString()]);
    }
  return out;
}

const rec = (topic: string, key: string, value: string, extra: Partial<OutgoingRecord> = {}): OutgoingRecord => ({ topic, key, value: Buffer.from(value), ...extra });

describe('bundling producer', () => {
  it('puts each partition of a bundled topic in one record, members where the partitioner would have put them, in order', async () => {
    const inner = capture();
    const producer = createBundlingProducer(inner, { bundled: new Set(['out']), partitionsOf: async () => 4 });
    const records = Array.from({ length: 200 }, (_, i) => rec('out', `c${i % 37}`, `v${i}`));
    await producer.send(records);
    expect(inner.sent).toHaveLength(1);
    const partitions = new Set(records.map((r) => partitionOfKey('out', r.key!, 4)));
    expect(inner.sent[0]!.length).toBe(partitions.size);
    for (let p = 0; p < 4; p++) {
      const expected = records.filter((r) => partitionOfKey('out', r.key!, 4) === p).map((r) => [r.key, r.value!.toString()]);
      expect(read(inner.sent, 'out', p, 4)).toEqual(expected);
    }
    expect(producer.bundling()).toEqual({ members: 200, bundles: partitions.size });
  });

  it('passes other topics, records with headers and explicit partitions through, and cuts bundles at the byte bound', async () => {
    const inner = capture();
    const producer = createBundlingProducer(inner, { bundled: new Set(['out']), partitionsOf: async () => 2, maxBundleBytes: 100 });
    const records = [
      rec('changelog', 'k', 'state', { partition: 1 }),
      rec('out', 'a', 'x'.repeat(60), { partition: 0 }),
      rec('out', 'b', 'y'.repeat(60), { partition: 0 }),
      rec('out', 'h', 'with header', { headers: { trace: '1' } }),
    ];
    await producer.send(records);
    const [sent] = inner.sent;
    expect(sent!.filter((r) => r.topic === 'changelog')).toEqual([records[0]]);
    expect(sent!.filter((r) => r.topic === 'out' && r.headers?.trace === '1')).toEqual([records[3]]);
    expect(sent!.filter((r) => r.topic === 'out' && r.headers?.['jp-bundle'] === '1')).toHaveLength(2);
    expect(read([sent!.filter((r) => r.headers?.trace === undefined)], 'out', 0, 2)).toEqual([
      ['a', 'x'.repeat(60)],
      ['b', 'y'.repeat(60)],
    ]);
  });
});
