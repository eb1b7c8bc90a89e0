import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { forgetBefore, fromPairs, isDuplicate, oldestTime, pairsOf, remember, sizeOf, type RecentIds } from './recent-ids.js';
import { cyrb53, hashHex } from './hash.js';

describe('recent messageIds', () => {
  it('finds a repeat within the window and not beyond it', () => {
    const ids = remember([], 7, 1_000);
    expect(isDuplicate(ids, 7, 1_500, 500)).toBe(true);
    expect(isDuplicate(ids, 7, 1_501, 500)).toBe(false);
    expect(isDuplicate(ids, 8, 1_000, 500)).toBe(false);
  });

  it('switches to a Map when large and back to an array once pruned small', () => {
    let ids: RecentIds = [];
    for (let i = 0; i < 100; i++) ids = remember(ids, i, i);
    expect(ids).toBeInstanceOf(Map);
    expect(isDuplicate(ids, 42, 42, 0)).toBe(true);
    ids = forgetBefore(ids, 90);
    expect(Array.isArray(ids)).toBe(true);
    expect(sizeOf(ids)).toBe(10);
    expect(oldestTime(ids)).toBe(90);
    expect(fromPairs(pairsOf(ids))).toEqual(ids);
  });

  it('agrees with a plain model on any sequence of remember and forget', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.tuple(fc.constant('add' as const), fc.nat(60), fc.nat(1_000)), fc.tuple(fc.constant('forget' as const), fc.nat(1_000), fc.constant(0)))),
        (ops) => {
          let ids: RecentIds = [];
          const model = new Map<number, number>();
          for (const [op, a, b] of ops) {
            if (op === 'add') {
              ids = remember(ids, a, b);
              model.set(a, b);
            } else {
              ids = forgetBefore(ids, a);
              for (const [h, t] of model) if (t < a) model.delete(h);
            }
          }
          const pairs = pairsOf(ids);
          const seen = new Map<number, number>();
          for (let i = 0; i < pairs.length; i += 2) seen.set(pairs[i]!, pairs[i + 1]!);
          expect(seen).toEqual(model);
        },
      ),
    );
  });
});

describe('hash', () => {
  it('renders 53-bit hashes as 14 hex digits, like toString(16)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const h = cyrb53(s);
        expect(hashHex(h)).toBe(h.toString(16).padStart(14, '0'));
      }),
    );
    expect(hashHex(2 ** 53 - 1)).toBe('1fffffffffffff');
    expect(hashHex(0)).toBe('00000000000000');
  });
});
