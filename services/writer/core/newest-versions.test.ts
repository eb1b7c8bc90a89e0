import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newestVersions } from './newest-versions.js';

type Row = { id: string; version: number; n: number };
const newest = (rows: Row[]) => newestVersions(rows, (r) => r.id, (r) => r.version);

describe('newest versions of a block', () => {
  it('keeps per key the row of the highest version, the last of equal ones, in block order', () => {
    const rows: Row[] = [
      { id: 'a', version: 1, n: 0 },
      { id: 'b', version: 5, n: 1 },
      { id: 'a', version: 3, n: 2 },
      { id: 'b', version: 4, n: 3 },
      { id: 'c', version: 1, n: 4 },
      { id: 'a', version: 3, n: 5 },
    ];
    expect(newest(rows).map((r) => r.n)).toEqual([1, 4, 5]);
  });

  it('is what ReplacingMergeTree(version) keeps of the block, whatever the rows', () => {
    const row = fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd'), version: fc.integer({ min: 0, max: 5 }) });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 40 }), (drawn) => {
        const rows = drawn.map((r, n) => ({ ...r, n }));
        const kept = newest(rows);
        // The engine's rule, row by row: the highest version of each key; on a tie the one inserted last.
        const expected = new Map<string, Row>();
        for (const r of rows) if (!expected.has(r.id) || r.version >= expected.get(r.id)!.version) expected.set(r.id, r);
        expect(kept).toEqual([...expected.values()].sort((x, y) => x.n - y.n));
      }),
    );
  });

  it('gives the same array back when no row is replaced', () => {
    const rows: Row[] = [{ id: 'a', version: 1, n: 0 }, { id: 'b', version: 1, n: 1 }];
    expect(newest(rows)).toBe(rows);
  });
});
