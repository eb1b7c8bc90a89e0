import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DueIndex } from './due-index.js';

describe('DueIndex', () => {
  it('pops due keys earliest first and keeps the rest', () => {
    const d = new DueIndex();
    d.schedule('b', 20);
    d.schedule('a', 10);
    d.schedule('c', 30);
    expect(d.popDue(25)).toEqual(['a', 'b']);
    expect(d.peek()).toBe(30);
    expect(d.size).toBe(1);
  });

  it('keeps the earlier time when a key is scheduled twice', () => {
    const d = new DueIndex();
    d.schedule('a', 50);
    d.schedule('a', 10);
    d.schedule('a', 40);
    expect(d.popDue(100)).toEqual(['a']);
    expect(d.popDue(100)).toEqual([]);
  });

  it('forgets unscheduled keys', () => {
    const d = new DueIndex();
    d.schedule('a', 10);
    d.unschedule('a');
    expect(d.popDue(100)).toEqual([]);
    expect(d.peek()).toBeNull();
  });

  it('pops every key exactly once, by its earliest time (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.integer({ min: 0, max: 1000 }))), (ops) => {
        const d = new DueIndex();
        const earliest = new Map<string, number>();
        for (const [k, t] of ops) {
          d.schedule(k, t);
          earliest.set(k, Math.min(t, earliest.get(k) ?? Infinity));
        }
        const expected = [...earliest.entries()].sort((x, y) => x[1] - y[1]).map(([k]) => k);
        const popped = d.popDue(1000);
        expect(popped.map((k) => earliest.get(k))).toEqual(expected.map((k) => earliest.get(k)));
        expect(new Set(popped)).toEqual(new Set(expected));
      }),
    );
  });
});
