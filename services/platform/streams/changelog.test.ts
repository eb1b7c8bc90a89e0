import { describe, expect, it } from 'vitest';
import { chunkBySize, MAX_RECORD_BYTES, type OutgoingRecord } from '../kafka/producer.js';
import { RecordTooLargeError } from '../kafka/errors.js';
import { APPLIED_OFFSET_KEY, ChangelogFold } from './changelog.js';

const b = (s: string) => Buffer.from(s);
const marker = (offset: number): [string, Buffer] => [APPLIED_OFFSET_KEY, b(String(offset))];
/** Folds `records` (changelog offsets 0, 1, …; `base`: a local copy's, before them) as a restore does, into a map. */
const fold = (records: Array<[string, Buffer | null]>, base: Array<[string, Buffer | null]> = []) => {
  const entries = new Map<string, string>();
  const f = new ChangelogFold({ committed: (k, v) => (k === APPLIED_OFFSET_KEY ? undefined : v === null ? entries.delete(k) : entries.set(k, v.toString())) });
  for (const [k, v] of base) f.addCopied(k, v);
  records.forEach(([k, v], i) => f.add(k, v, i));
  const out = f.finish();
  return { entries: Object.fromEntries(entries), applied: out.appliedOffset, rollback: out.rollback, lastMarkerAt: out.lastMarkerAt };
};

describe('changelog fold: the applied-offset marker commits a step', () => {
  it('takes every step that ends with its marker', () => {
    expect(fold([['a', b('1')], marker(10), ['a', b('2')], ['b', b('x')], marker(20), ['b', null], marker(30)])).toEqual({ entries: { a: '2' }, applied: 30n, rollback: [], lastMarkerAt: 6n });
  });

  it('leaves out a step that did not reach its marker, and names its keys for the committed values to be written back', () => {
    // Step 2 was split into appends and only the first arrived: a and c are ahead of offset 10.
    const out = fold([['a', b('1')], ['b', b('1')], marker(10), ['a', b('2')], ['c', b('2')]]);
    expect(out).toEqual({ entries: { a: '1', b: '1' }, applied: 10n, rollback: ['a', 'c'], lastMarkerAt: 2n });
  });

  it('a rollback written before the next marker supersedes the abandoned values', () => {
    const out = fold([['a', b('1')], marker(10), ['a', b('abandoned')], ['a', b('1')], ['b', b('3')], marker(12)]);
    expect(out).toEqual({ entries: { a: '1', b: '3' }, applied: 12n, rollback: [], lastMarkerAt: 5n });
  });

  it('continues from a local copy (its marker included), and takes a changelog without markers whole', () => {
    expect(fold([['a', b('2')]], [['a', b('1')], marker(10)])).toEqual({ entries: { a: '1' }, applied: 10n, rollback: ['a'], lastMarkerAt: null });
    expect(fold([['a', b('1')], ['b', b('2')]])).toEqual({ entries: { a: '1', b: '2' }, applied: null, rollback: [], lastMarkerAt: null });
  });

  it('takes a local copy whole, the marker anywhere in it (a compacted copy keeps keys in the order they first came)', () => {
    // Compacted: b and c first came after the first marker; the marker holds its latest value.
    const compacted: Array<[string, Buffer | null]> = [['a', b('1')], marker(30), ['b', b('2')], ['c', b('3')]];
    expect(fold([], compacted)).toEqual({ entries: { a: '1', b: '2', c: '3' }, applied: 30n, rollback: [], lastMarkerAt: null });
    // The tail's steps still wait for their markers.
    expect(fold([['b', b('4')]], compacted)).toEqual({ entries: { a: '1', b: '2', c: '3' }, applied: 30n, rollback: ['b'], lastMarkerAt: null });
    expect(fold([['b', b('4')], marker(31)], compacted)).toEqual({ entries: { a: '1', b: '4', c: '3' }, applied: 31n, rollback: [], lastMarkerAt: 1n });
  });

  it('passes each value on as soon as it is committed, holding back only the records after a marker', () => {
    const seen: string[] = [];
    const at: Array<number | null> = [];
    const f = new ChangelogFold({
      committed: (k, v, offset) => {
        seen.push(`${k}=${v?.toString() ?? 'null'}`);
        at.push(offset);
      },
    });
    // Before any marker a record is committed either way (by a later marker, or as a changelog taken whole).
    f.add('a', b('1'), 0);
    f.add('b', null, 1);
    expect(seen).toEqual(['a=1', 'b=null']);
    f.add(...marker(7), 2);
    f.add('a', b('2'), 3);
    expect(seen).toEqual(['a=1', 'b=null', `${APPLIED_OFFSET_KEY}=7`]);
    f.add(...marker(8), 4);
    expect(seen).toEqual(['a=1', 'b=null', `${APPLIED_OFFSET_KEY}=7`, 'a=2', `${APPLIED_OFFSET_KEY}=8`]);
    // The offset of a record passed on as read (the committed state reaches it: a local copy's frame
    // may end there, as in a compacted changelog's cleaned part, which has no markers); none for a
    // held step's record, passed on at its marker, nor for the markers.
    expect(at).toEqual([0, 1, null, null, null]);
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
