import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FifoHashSet } from './fifo-hash-set.js';

describe('FifoHashSet', () => {
  it('behaves as an insertion-ordered Set under any mix of pushes, shifts and clears (collisions included)', () => {
    // Small hash values on a small table collide constantly, so probe runs wrap and shifts move entries.
    const op = fc.oneof(
      fc.record({ push: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 53 - 1 })) }),
      fc.constant({ shift: true as const }),
      fc.constant({ clear: true as const }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.boolean(), fc.array(op, { maxLength: 300 }), (capacity, growable, ops) => {
        const set = new FifoHashSet(capacity, growable);
        const model = new Set<number>();
        for (const o of ops) {
          if ('push' in o) {
            if (model.has(o.push)) continue;
            if (!growable && model.size === capacity) {
              expect(set.full).toBe(true);
              const oldest = model.values().next().value as number;
              model.delete(oldest);
              expect(set.shift()).toBe(oldest);
            }
            set.push(o.push);
            model.add(o.push);
          } else if ('shift' in o) {
            if (model.size === 0) continue;
            const oldest = model.values().next().value as number;
            model.delete(oldest);
            expect(set.shift()).toBe(oldest);
          } else {
            set.clear();
            model.clear();
          }
          expect(set.size).toBe(model.size);
        }
        expect(set.toArray()).toEqual([...model]);
        for (let h = 0; h <= 40; h++) expect(set.has(h)).toBe(model.has(h));
        for (const h of model) expect(set.has(h)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a push when a fixed set is full, and a shift when it is empty', () => {
    const set = new FifoHashSet(1);
    expect(() => set.shift()).toThrow(RangeError);
    set.push(7);
    expect(() => set.push(8)).toThrow(RangeError);
    expect(() => new FifoHashSet(0)).toThrow(RangeError);
  });
});
