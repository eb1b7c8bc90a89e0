import { describe, expect, it } from 'vitest';
import { compactRows } from './compact-rows.js';

describe('JSONCompactEachRow rows', () => {
  it('writes each row as an array under one column list: keys that are no column are left out, missing ones are null', () => {
    const table = new Set(['id', 'n', 'at']);
    const { columns, values } = compactRows([{ id: 'a', n: 1, extra: true }, { id: 'b', at: '2026-01-01 00:00:00.000' }], table);
    expect(columns).toEqual(['id', 'n', 'at']);
    expect(values.map((v) => JSON.stringify(v))).toEqual(['["a",1,null]', '["b",null,"2026-01-01 00:00:00.000"]']);
  });
});
