import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimeHeap } from './time-heap.js';

describe('TimeHeap', () => {
  it('pops items in time order, whatever the order they were pushed in', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1_000, max: 1_000 })), (times) => {
        const heap = new TimeHeap<string>();
        times.forEach((t, i) => heap.push(`k${i}`, t));
        const popped: number[] = [];
        while (heap.size > 0) {
          const t = heap.peekTime();
          const item = heap.pop()!;
          expect(times[Number(item.slice(1))]).toBe(t);
          popped.push(t);
        }
        expect(popped).toEqual([...times].sort((a, b) => a - b));
        expect(heap.peekTime()).toBe(Infinity);
        expect(heap.pop()).toBeUndefined();
      }),
    );
  });

  it('retimeTop moves the earliest item to its new place, as a pop and a push would', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1 }), fc.integer({ min: 0, max: 200 }), (times, later) => {
        const heap = new TimeHeap<number>();
        times.forEach((t, i) => heap.push(i, t));
        const top = heap.peek()!;
        const newTime = heap.peekTime() + later;
        heap.retimeTop(newTime);
        const expected = times.map((t, i) => (i === top ? newTime : t)).sort((a, b) => a - b);
        const popped: number[] = [];
        while (heap.size > 0) {
          popped.push(heap.peekTime());
          heap.pop();
        }
        expect(popped).toEqual(expected);
      }),
    );
  });

  it('clear empties it', () => {
    const heap = new TimeHeap<string>();
    heap.push('a', 1);
    heap.clear();
    expect(heap.size).toBe(0);
    expect(heap.peek()).toBeUndefined();
  });
});
