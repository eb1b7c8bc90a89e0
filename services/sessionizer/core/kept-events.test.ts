import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KeptEvents } from './kept-events.js';
import type { EventSummary } from './session-summary.js';

const one = (start: number, hash: number, channels = 1, stage = -1, converted = false, url: string | null = '/p'): EventSummary => ({
  count: 1, start, firstHash: hash, site: 's', entryEvent: 'e', entryUrl: url, end: start, endHash: hash, exitEvent: 'e', exitUrl: url, channels, stage, converted,
});

describe('kept events', () => {
  it('gives back each event as it was pushed, flags included', () => {
    const event = fc
      .tuple(fc.integer({ min: -(2 ** 44), max: 2 ** 44 }), fc.integer({ min: 0, max: 2 ** 53 - 1 }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: -1, max: 254 }), fc.boolean(), fc.option(fc.string()))
      .map(([t, h, channels, stage, converted, url]) => one(t, h, channels, stage, converted, url));
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), fc.nat(31), (events, drop) => {
        const kept = KeptEvents.of(events);
        expect(kept.length).toBe(events.length);
        expect(kept.toArray()).toEqual(events);
        kept.dropFirst(drop);
        expect(kept.toArray()).toEqual(events.slice(drop));
        if (events.length > 0) expect(KeptEvents.one(events[0]!).toArray()).toEqual([events[0]]);
      }),
    );
  });

  it('merges two sets in event order (time, then hash)', () => {
    const a = KeptEvents.of([one(1, 5), one(3, 1)]);
    const b = KeptEvents.of([one(1, 2), one(2, 9), one(3, 0)]);
    expect(KeptEvents.merged(a, b).toArray().map((e) => [e.start, e.firstHash])).toEqual([[1, 2], [1, 5], [2, 9], [3, 0], [3, 1]]);
  });

  it('refuses a summary of more than one event', () => {
    expect(() => KeptEvents.of([{ ...one(1, 1), count: 2 }])).toThrow('single event');
    expect(() => KeptEvents.one({ ...one(1, 1), end: 2 })).toThrow('single event');
  });
});
