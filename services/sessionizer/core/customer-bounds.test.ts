import { describe, expect, it } from 'vitest';
import type { Touchpoint } from '../../../schemas/touchpoint.js';
import { CustomerCodec } from './customer-codec.js';
import type { BoundKind } from './customer-bounds.js';
import { SessionizerPartition } from './partition.js';
import { capIds, pairsOf, remember, sizeOf, type RecentIds } from './recent-ids.js';
import { KeptEvents } from './kept-events.js';
import { foldOldest, sessionizerConfig, type OpenSession } from './sessions.js';
import { stageByEventName, touchpoint } from './test-touchpoint.js';
import { summarize } from './session-summary.js';

const config = sessionizerConfig(stageByEventName);
const SECOND = 1_000;
/** One customer's events a second apart: all within the grace period and the dedup window. */
const burst = (n: number, over: Partial<Touchpoint> = {}): Touchpoint[] =>
  Array.from({ length: n }, (_, i) => touchpoint({ messageId: `w-${i}`, timestamp: i * SECOND, ...over }));

function bounded(bounds: { maxRecentIds: number; maxOpenEvents: number; maxStateBytes: number }) {
  const hits: Array<[BoundKind, number, boolean]> = [];
  const p = new SessionizerPartition(config, bounds, (kind, _id, n, first) => hits.push([kind, n, first]));
  return { p, hits };
}

describe('dedup ids per customer: capped, earliest evicted', () => {
  it('capIds keeps the latest `max` ids in both forms', () => {
    for (const n of [10, 100]) {
      let ids: RecentIds = [];
      for (let i = 0; i < n; i++) ids = remember(ids, i, i);
      expect(capIds(ids, 8)).toBe(n - 8);
      expect(sizeOf(ids)).toBe(8);
      expect(pairsOf(ids).filter((_, j) => j % 2 === 0)).toEqual(Array.from({ length: 8 }, (_, j) => n - 8 + j));
      expect(capIds(ids, 8)).toBe(0);
    }
  });

  it('a customer remembers at most maxRecentIds: a recent repeat is a duplicate, an evicted one is not', () => {
    const { p, hits } = bounded({ maxRecentIds: 50, maxOpenEvents: 10_000, maxStateBytes: 1 << 20 });
    for (const tp of burst(200)) p.process(tp, 'u:whale');
    expect(hits.filter(([k]) => k === 'dedup_ids')).toHaveLength(150);
    expect(hits.filter(([, , first]) => first)).toEqual([['dedup_ids', 1, true]]);
    expect(p.process(touchpoint({ messageId: 'w-199', timestamp: 199 * SECOND }), 'u:whale').duplicate).toBe(true);
    expect(p.process(touchpoint({ messageId: 'w-150', timestamp: 150 * SECOND }), 'u:whale').duplicate).toBe(true);
    expect(p.process(touchpoint({ messageId: 'w-149', timestamp: 149 * SECOND }), 'u:whale').duplicate).toBe(false);
    const image = new CustomerCodec().decode(p.snapshot('u:whale')!);
    expect(image.recentIds.length / 2).toBe(50);
  });
});

describe('open events per customer: folded early', () => {
  it('foldOldest keeps at most `keep` events unfolded, oldest session first, counts intact', () => {
    const e = (t: number) => summarize(touchpoint({ messageId: `e${t}`, timestamp: t }), t, null);
    const session = (ts: number[]): OpenSession => {
      const [first, ...rest] = ts.map(e);
      const all = { ...first! };
      for (const r of rest) {
        all.count += r.count;
        all.end = r.end;
      }
      return { id: `s${ts[0]}`, folded: null, recent: KeptEvents.of(ts.map(e)), all };
    };
    const sessions = [session([1, 2, 3]), session([100, 101])];
    expect(foldOldest(sessions, 1)).toBe(4);
    expect(sessions.map((s) => [s.folded?.count ?? 0, s.recent.toArray().map((r) => r.start)])).toEqual([
      [3, []],
      [1, [101]],
    ]);
    expect(foldOldest(sessions, 1)).toBe(0);
    // Over `max`, down to `keep`.
    const more = [session([1, 2, 3, 4, 5])];
    expect(foldOldest(more, 5, 2)).toBe(0);
    more[0]!.recent.push(e(6));
    expect(foldOldest(more, 5, 2)).toBe(4);
    expect(more[0]!.recent.toArray().map((r) => r.start)).toEqual([5, 6]);
  });

  it('a whale keeps maxOpenEvents events one by one, and its session still counts every event', () => {
    const { p, hits } = bounded({ maxRecentIds: 1_000_000, maxOpenEvents: 20, maxStateBytes: 1 << 20 });
    let last = 0;
    for (const tp of burst(500)) last = p.process(tp, 'u:whale').sessions.at(-1)!.eventCount;
    expect(last).toBe(500);
    const image = new CustomerCodec().decode(p.snapshot('u:whale')!);
    const [only] = image.sessions;
    expect(only!.recent.length).toBeLessThanOrEqual(20);
    expect([only!.folded!.count + only!.recent.length, only!.all.count]).toEqual([500, 500]);
    const folded = hits.filter(([k]) => k === 'open_events').reduce((n, [, m]) => n + m, 0);
    expect(folded).toBe(only!.folded!.count);
  });
});

describe('a customer value by bytes', () => {
  it('trimToFit brings a snapshot under the cap (long URLs defeat the counts) and flags the customer', () => {
    const { p, hits } = bounded({ maxRecentIds: 10_000, maxOpenEvents: 10_000, maxStateBytes: 1 << 20 });
    for (const tp of burst(300, { url: `https://shop.example/${'x'.repeat(2_000)}` })) p.process(tp, 'u:whale');
    expect(p.snapshot('u:whale')!.length).toBeGreaterThan(64 * 1024);
    const trimmed = p.trimToFit('u:whale', 64 * 1024)!;
    expect(trimmed.length).toBeLessThanOrEqual(64 * 1024);
    expect(hits.at(-1)![0]).toBe('state_bytes');
    const image = new CustomerCodec().decode(trimmed);
    expect(image.bounded).toBe(true);
    expect(image.sessions.reduce((n, s) => n + s.all.count, 0)).toBe(300);
    // A customer under the cap is left as it is.
    p.process(touchpoint({ messageId: 'small' }), 'u:small');
    expect(p.trimToFit('u:small', 64 * 1024)).toEqual(p.snapshot('u:small'));
    expect(p.isBounded('u:small')).toBe(false);
  });

  it('the flag survives a restore and moves with a merge', () => {
    const { p } = bounded({ maxRecentIds: 5, maxOpenEvents: 10_000, maxStateBytes: 1 << 20 });
    for (const tp of burst(10)) p.process(tp, 'a:whale');
    const restored = new SessionizerPartition(config);
    restored.restore('a:whale', p.snapshot('a:whale'));
    expect(restored.isBounded('a:whale')).toBe(true);
    restored.importCustomer('u:survivor', restored.exportCustomer('a:whale')!);
    expect(restored.isBounded('u:survivor')).toBe(true);
    expect(restored.isBounded('a:whale')).toBe(false);
  });
});
