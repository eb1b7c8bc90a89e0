import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SessionRecord } from '../../../schemas/journey.js';
import type { Touchpoint } from '../../../schemas/touchpoint.js';
import { SessionizerPartition } from './partition.js';
import { sessionizeBatch, type BatchSession } from './reference.js';
import { sessionizerConfig } from './sessions.js';
import { stageByEventName, touchpoint } from './test-touchpoint.js';

// Small numbers so random streams hit gaps, max-length cuts, bridges and same-millisecond ties.
const config = sessionizerConfig(stageByEventName, {
  inactivityGapMs: 1_000,
  maxSessionMs: 3_000,
  graceMs: 500,
  dedupWindowMs: 10_000_000,
});

const eventArb = fc.record({
  // Round steps land exactly on the gap (1000) and max-length (3000) boundaries often.
  step: fc.oneof(
    fc.constantFrom(0, 250, 500, 1_000, 1_001),
    fc.integer({ min: 0, max: 400 }),
    fc.integer({ min: 400, max: 1_600 }),
  ),
  event: fc.constantFrom('page_view', 'ad_click', 'product_view', 'order_completed', 'reorder'),
  channel: fc.constantFrom('web' as const, 'email' as const, 'ads' as const),
  url: fc.option(fc.constantFrom('/a', '/b', '/ü')),
  /** Arrival delay within grace: the stream is the event-time order shuffled by at most grace. */
  delay: fc.oneof(fc.constantFrom(0, config.graceMs), fc.integer({ min: 0, max: config.graceMs })),
  /** A redelivered copy, arriving at any later point. */
  duplicateDelay: fc.option(fc.integer({ min: 0, max: 4_000 }), { freq: 4 }),
});

const streamArb = fc.record({
  customers: fc.array(
    fc.record({ start: fc.integer({ min: 0, max: 6_000 }), events: fc.array(eventArb, { minLength: 1, maxLength: 40 }) }),
    { minLength: 1, maxLength: 4 },
  ),
  expireEvery: fc.integer({ min: 1, max: 8 }),
  /** Arrival indexes after which the partition restarts from its changelog. */
  restarts: fc.array(fc.nat(150), { maxLength: 3 }),
});

interface Arrival {
  tp: Touchpoint;
  customerId: string;
  at: number;
}

type Stream = typeof streamArb extends fc.Arbitrary<infer T> ? T : never;

function arrivals(stream: Stream): Arrival[] {
  const out: Arrival[] = [];
  stream.customers.forEach((c, ci) => {
    let t = c.start;
    c.events.forEach((e, ei) => {
      t += e.step;
      const tp = touchpoint({
        messageId: `c${ci}-e${ei}`,
        anonymousId: `A${ci}`,
        timestamp: t,
        event: e.event,
        channel: e.channel,
        url: e.url,
        site: `site-${ci % 2}`,
      });
      out.push({ tp, customerId: `a:A${ci}`, at: t + e.delay });
      if (e.duplicateDelay !== null) out.push({ tp: { ...tp }, customerId: `a:A${ci}`, at: t + e.duplicateDelay });
    });
  });
  return out.sort((x, y) => x.at - y.at); // stable: ties keep generation order
}

function stream(input: Arrival[], expireEvery: number, restarts: number[]) {
  const changelog = new Map<string, Uint8Array | null>();
  let p = new SessionizerPartition(config);
  const records: SessionRecord[] = [];
  let duplicates = 0;
  const persist = () => {
    for (const key of p.dirtyKeys()) changelog.set(key, p.snapshot(key));
  };
  input.forEach(({ tp, customerId }, i) => {
    const result = p.process(tp, customerId);
    expect(result.late).toBe(false);
    if (result.duplicate) duplicates++;
    records.push(...result.sessions);
    if (i % expireEvery === 0) records.push(...p.expire());
    persist();
    if (restarts.includes(i)) {
      p = new SessionizerPartition(config);
      for (const [key, bytes] of changelog) p.restore(key, bytes);
    }
  });
  p.advanceWatermark(p.watermark + config.inactivityGapMs + config.graceMs + 1);
  records.push(...p.expire());
  return { records, duplicates, stats: p.stats() };
}

const comparable = (s: BatchSession | SessionRecord) => ({
  sessionId: s.sessionId,
  sessionUid: s.sessionUid,
  customerId: s.customerId,
  startedAt: s.startedAt,
  endedAt: s.endedAt,
  eventCount: s.eventCount,
  site: s.site,
  channels: s.channels,
  entryEvent: s.entryEvent,
  exitEvent: s.exitEvent,
  entryUrl: s.entryUrl,
  exitUrl: s.exitUrl,
  furthestStage: s.furthestStage,
  converted: s.converted,
});
const byId = (a: { sessionId: string }, b: { sessionId: string }) => (a.sessionId < b.sessionId ? -1 : 1);

describe('streaming sessionizer against the batch reference', () => {
  it('closes exactly the batch sessions on streams shuffled within grace, with redeliveries and restarts', () => {
    fc.assert(
      fc.property(streamArb, (s) => {
        const input = arrivals(s);
        const { records, duplicates, stats } = stream(input, s.expireEvery, s.restarts);

        const last = new Map<string, SessionRecord>();
        for (const r of records) {
          SessionRecord.parse(r);
          const prev = last.get(r.sessionId);
          if (prev) expect(r.version).toBeGreaterThan(prev.version);
          last.set(r.sessionId, r);
        }
        for (const r of last.values()) expect(['closed', 'merged']).toContain(r.status);
        const closed = [...last.values()].filter((r) => r.status === 'closed');

        const expected = sessionizeBatch(input, config);
        expect(closed.map(comparable).sort(byId)).toEqual(expected.map(comparable).sort(byId));
        expect(stats.openSessions).toBe(0);
        if (s.restarts.length === 0) expect(duplicates).toBe(input.length - new Set(input.map((a) => a.tp.messageId)).size);
      }),
      { numRuns: 300 },
    );
  });
});
