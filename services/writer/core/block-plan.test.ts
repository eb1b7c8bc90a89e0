import { describe, expect, it } from 'vitest';
import { cutBlock, blockToken, chunkBlock, intentMetadata, parseIntent } from './block-plan.js';

describe('deterministic insert blocks', () => {
  it('round-trips an intent through commit metadata', () => {
    expect(parseIntent(intentMetadata('42'))).toBe(42n);
    expect(parseIntent(null)).toBeNull();
    expect(parseIntent('')).toBeNull();
    expect(parseIntent('pending:x')).toBeNull();
  });

  it('names a block by topic, partition and offset range', () => {
    expect(blockToken('sessions', 3, 10n, 19n)).toBe('sessions:3:10-19');
  });

  it('cuts the replayed block exactly where the interrupted one ended', () => {
    expect(cutBlock(10n, 50n, 19n)).toEqual({ kind: 'cut', end: 19n });
    expect(cutBlock(10n, 15n, 19n)).toEqual({ kind: 'wait' }); // not all of it fetched yet
    expect(cutBlock(10n, 50n, null)).toEqual({ kind: 'cut', end: 50n });
    expect(cutBlock(20n, 50n, 19n)).toEqual({ kind: 'cut', end: 50n }); // the intent is behind us
  });

  it('splits an oversized block into chunks with stable derived tokens', () => {
    const chunks = chunkBlock([1, 2, 3, 4, 5], 't:0:0-4', 2);
    expect(chunks.map((c) => c.token)).toEqual(['t:0:0-4#0', 't:0:0-4#1', 't:0:0-4#2']);
    expect(chunks.flatMap((c) => c.rows)).toEqual([1, 2, 3, 4, 5]);
    expect(chunkBlock([1], 'x', 2)).toEqual([{ rows: [1], token: 'x' }]);
  });
});
