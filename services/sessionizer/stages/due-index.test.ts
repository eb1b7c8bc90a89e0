import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimeHeap } from '../../platform/collections/time-heap.js';
import { DueIndex } from './due-index.js';

/** The index as it was before times were held as offsets (one Map of times): the model. */
class MapDueIndex {
  private readonly heap = new TimeHeap<string>();
  private readonly scheduled = new Map<string, number>();
  schedule(key: string, at: number | null): void {
    if (at === null) return;
    const current = this.scheduled.get(key);
    if (current !== undefined && current <= at) return;
    this.scheduled.set(key, at);
    this.heap.push(key, at);
    if (this.heap.size > 2 * this.scheduled.size + 1024) {
      this.heap.clear();
      for (const [k, t] of this.scheduled) this.heap.push(k, t);
    }
  }
  has(key: string): boolean {
    return this.scheduled.has(key);
  }
  unschedule(key: string): void {
    this.scheduled.delete(key);
  }
  popDue(now: number, limit = Infinity): string[] {
    const out: string[] = [];
    while (out.length < limit && this.heap.peekTime() <= now) {
      const t = this.heap.peekTime();
      const key = this.heap.pop()!;
      if (this.scheduled.get(key) !== t) continue;
      this.scheduled.delete(key);
      out.push(key);
    }
    return out;
  }
  peek(): number | null {
    while (this.heap.size > 0 && this.scheduled.get(this.heap.peek()!) !== this.heap.peekTime()) this.heap.pop();
    return this.heap.size > 0 ? this.heap.peekTime() : null;
  }
  get size(): number {
    return this.scheduled.size;
  }
}

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 11, 7);
/** Later than any time scheduled here (popDue(Infinity) would never end: an empty heap peeks at Infinity). */
const END = 2 ** 62;

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

  it('holds times within 12 days of its base as offsets, and others exactly as they were given', () => {
    const d = new DueIndex();
    for (let i = 0; i < 1_000; i++) d.schedule(`c${i}`, T0 + i * 3_600_000); // 41 days, an hour apart
    d.schedule('fraction', T0 + 0.5);
    d.schedule('before', T0 - 20 * DAY);
    // Within ±2^30 - 1 ms (12.4 days) of the first time: 298 hours after it; the rest, and the fraction, as they are.
    expect(d.size).toBe(1_002);
    expect(d.farSize).toBe(1_000 - 299 + 2);
    const popped = d.popDue(T0 + 50 * DAY);
    expect(popped.slice(0, 3)).toEqual(['before', 'c0', 'fraction']);
    expect(popped).toHaveLength(1_002);
    expect(d.size).toBe(0);
    expect(d.farSize).toBe(0);
  });

  it('moves its base to the earliest time when it compacts, so later times are held as offsets again', () => {
    const d = new DueIndex();
    d.schedule('first', T0);
    // 30 days on: far from the base, until a compaction (over 2 × size + 1024 heap entries) moves it.
    for (let round = 0; round < 3; round++) for (let i = 0; i < 600; i++) d.schedule(`c${i}`, T0 + 30 * DAY - round * 1_000 + i);
    d.unschedule('first');
    expect(d.farSize).toBeGreaterThan(0);
    for (let i = 0; i < 600; i++) d.schedule(`c${i}`, T0 + 30 * DAY - 10_000 + i);
    expect(d.heapSize).toBeLessThan(2_400);
    expect(d.farSize).toBe(0);
    expect(d.peek()).toBe(T0 + 30 * DAY - 10_000);
  });

  it('does exactly what one Map of times did: the same keys popped in the same order, ties included (property)', () => {
    const time = fc.oneof(
      fc.integer({ min: -5, max: 5 }).map((n) => T0 + n * 1_000), // ties
      fc.integer({ min: -40, max: 40 }).map((n) => T0 + n * DAY + 7), // both sides of the window
      fc.double({ min: 0, max: 1, noNaN: true }).map((f) => T0 + f), // fractions
      fc.constantFrom(-1, 0, 1, Number.MAX_SAFE_INTEGER, 2 ** 60, -(2 ** 31)),
    );
    const op = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.constant('schedule' as const), fc.integer({ min: 0, max: 40 }), fc.option(time, { nil: null })) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('unschedule' as const), fc.integer({ min: 0, max: 40 }), fc.constant(null)) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('pop' as const), fc.integer({ min: 1, max: 30 }), time) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('peek' as const), fc.constant(0), fc.constant(null)) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const d = new DueIndex();
        const m = new MapDueIndex();
        for (const [kind, n, t] of ops) {
          if (kind === 'schedule') {
            d.schedule(`k${n}`, t);
            m.schedule(`k${n}`, t);
          } else if (kind === 'unschedule') {
            d.unschedule(`k${n}`);
            m.unschedule(`k${n}`);
          } else if (kind === 'pop') expect(d.popDue(t!, n)).toEqual(m.popDue(t!, n));
          else expect(d.peek()).toBe(m.peek());
          expect(d.size).toBe(m.size);
          for (let k = 0; k <= 40; k++) expect(d.has(`k${k}`)).toBe(m.has(`k${k}`));
        }
        expect(d.popDue(END)).toEqual(m.popDue(END));
      }),
      { numRuns: 300 },
    );
  });

  it('compacts in the order keys were scheduled, as one Map did (many keys, ties)', () => {
    const d = new DueIndex();
    const m = new MapDueIndex();
    for (let round = 0; round < 5; round++)
      for (let i = 0; i < 3_000; i++) {
        const t = T0 + ((i * 7919 + round) % 50) * 13 * DAY - round;
        d.schedule(`c${i}`, t);
        m.schedule(`c${i}`, t);
      }
    expect(d.popDue(END)).toEqual(m.popDue(END));
  });
});
