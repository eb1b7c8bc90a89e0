import { describe, expect, it } from 'vitest';
import { chunkBySize, MAX_RECORD_BYTES, type OutgoingRecord } from '../kafka/producer.js';
import { RecordTooLargeError } from '../kafka/errors.js';
import { APPLIED_OFFSET_KEY, ChangelogFold } from './changelog.js';

const b = (s: string) => Buffer.from(s);
const marker = (offset: number): [string, Buffer] => [APPLIED_OFFSET_KEY, b(String(offset))];
const fold = (records: Array<[string, Buffer | null]>, base = new Map<string, Buffer>()) => {
  const f = new ChangelogFold(base);
  for (const [k, v] of records) f.add(k, v);
  const out = f.finish();
  return { entries: Object.fromEntries([...out.entries].map(([k, v]) => [k, v.toString()])), applied: out.appliedOffset, rollback: Object.fromEntries([...out.rollback].map(([k, v]) => [k, v?.toString() ?? null])) };
};

describe('changelog fold: the applied-offset marker commits a step', () => {
  it('takes every step that ends with its marker', () => {
    expect(fold([['a', b('1')], marker(10), ['a', b('2')], ['b', b('x')], marker(20), ['b', null], marker(30)])).toEqual({ entries: { a: '2' }, applied: 30n, rollback: {} });
  });

  it('leaves out a step that did not reach its marker, and says what to write back', () => {
    // Step 2 was split into appends and only the first arrived: a and c are ahead of offset 10.
    const out = fold([['a', b('1')], ['b', b('1')], marker(10), ['a', b('2')], ['c', b('2')]]);
    expect(out).toEqual({ entries: { a: '1', b: '1' }, applied: 10n, rollback: { a: '1', c: null } });
  });

  it('a rollback written before the next marker supersedes the abandoned values', () => {
    const out = fold([['a', b('1')], marker(10), ['a', b('abandoned')], ['a', b('1')], ['b', b('3')], marker(12)]);
    expect(out).toEqual({ entries: { a: '1', b: '3' }, applied: 12n, rollback: {} });
  });

  it('continues from a local copy (its marker included), and takes a changelog without markers whole', () => {
    const base = new Map([['a', b('1')], marker(10)]);
    expect(fold([['a', b('2')]], base)).toEqual({ entries: { a: '1' }, applied: 10n, rollback: { a: '1' } });
    expect(fold([['a', b('1')], ['b', b('2')]])).toEqual({ entries: { a: '1', b: '2' }, applied: null, rollback: {} });
  });
});

describe('record size check before sending', () => {
  it('refuses a record over the record limit instead of letting the broker refuse it for ever', () => {
    const big: OutgoingRecord = { topic: 't', key: 'k', value: Buffer.alloc(MAX_RECORD_BYTES) };
    expect(() => chunkBySize([big])).toThrow(RecordTooLargeError);
  });

  it('counts headers and keys as their UTF-8 worst case', () => {
    const withHeaders: OutgoingRecord = { topic: 't', key: 'k', value: Buffer.alloc(MAX_RECORD_BYTES - 100), headers: { h: 'x'.repeat(100) } };
    expect(() => chunkBySize([withHeaders])).toThrow(RecordTooLargeError);
  });
});
