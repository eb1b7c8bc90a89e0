import { describe, expect, it } from 'vitest';
import { EVENTS } from '../../../schemas/event-names.js';
import type { FunnelEvent } from '../../../schemas/journey.js';
import { StagesPartition } from '../stages/processor.js';
import { DAY, HOUR, loadShippedChurnModel, loadShippedStageRules, MINUTE, T0, touchpoint } from '../stages/testing.js';
import { defaultStagesCoreConfig } from '../stages/stages-config.js';
import { recomputeFunnel, settledEventTime, type WrittenTouchpoint } from './funnel-batch.js';
import { compareFunnel, type FunnelRowFacts } from './verify-funnel.js';

const rules = loadShippedStageRules('ecommerce.yaml');
const config = defaultStagesCoreConfig();
const same = (id: string) => id;
const written = (customerId: string, event: string, at: number, o: Parameters<typeof touchpoint>[2] = {}): WrittenTouchpoint => ({
  customerId,
  touchpoint: touchpoint(event, at, { userId: customerId, ...o }),
});
const facts = (rows: readonly FunnelEvent[]): FunnelRowFacts[] => rows.map((r) => ({ customerId: r.customerId, site: r.site, kind: r.kind, stage: r.stage, at: r.at }));
const summary = (rows: readonly FunnelEvent[]) => rows.map((r) => `${r.customerId} ${r.kind} ${r.stage} ${(r.at - T0) / HOUR}h`);

/** What the streaming core emits for these touchpoints in this arrival order, ticked at `tickAt`. */
function streamed(tps: readonly WrittenTouchpoint[], tickAt: number): FunnelEvent[] {
  const partition = new StagesPartition({ rules, config, churn: loadShippedChurnModel() });
  const out = tps.flatMap((t) => partition.process({ customerId: t.customerId, accountId: null, sessionId: '', late: false, touchpoint: t.touchpoint }, t.touchpoint.receivedAt).funnel);
  return [...out, ...partition.tick(tickAt).funnel];
}

// buyer: views on day 0, buys on day 3 (inside the 7-day window). browser: views on day 0, never again.
const history = [
  written('buyer', EVENTS.productViewed, T0),
  written('browser', EVENTS.productViewed, T0 + HOUR),
  written('buyer', EVENTS.orderCompleted, T0 + 3 * DAY),
];

describe('recomputeFunnel', () => {
  it('counts entries and conversions from the stage rules, and drop-offs whose window expired before the settled time', () => {
    const batch = recomputeFunnel(history, same, rules, config, T0 + 9 * DAY);
    expect(summary(batch.expected)).toEqual(['buyer entry consideration 0h', 'buyer conversion purchase 72h', 'buyer entry purchase 72h', 'browser entry consideration 1h', 'browser dropoff consideration 169h']);
    // The buyer's purchase window (day 3 to day 10) had not expired by day 9: undecided.
    expect(summary(batch.undecided)).toEqual(['buyer dropoff purchase 240h']);
  });

  it('leaves a drop-off due at or after the settled time undecided (deadlines fire strictly after they pass)', () => {
    const deadline = T0 + HOUR + 7 * DAY;
    expect(summary(recomputeFunnel(history, same, rules, config, deadline).undecided)).toContain('browser dropoff consideration 169h');
    expect(summary(recomputeFunnel(history, same, rules, config, deadline + 1).expected)).toContain('browser dropoff consideration 169h');
  });

  it('reads the touchpoints in event time whatever their order, a messageId once', () => {
    const shuffled = [history[2]!, history[1]!, history[0]!, history[2]!];
    expect(recomputeFunnel(shuffled, same, rules, config, T0 + 9 * DAY)).toEqual(recomputeFunnel(history, same, rules, config, T0 + 9 * DAY));
  });

  it('lapses a retained customer 90 days after their last purchase-level touchpoint, and settles the window that opens', () => {
    const tps = [written('r', EVENTS.orderCompleted, T0), written('r', EVENTS.orderCompleted, T0 + DAY)];
    const batch = recomputeFunnel(tps, same, rules, config, T0 + 100 * DAY);
    expect(summary(batch.expected)).toEqual([
      'r entry purchase 0h',
      'r conversion retention 24h',
      'r entry retention 24h',
      'r dropoff retention 192h',
      `r entry consideration ${91 * 24}h`,
      `r dropoff consideration ${98 * 24}h`,
    ]);
  });

  it('counts ids merged since under their survivor, each id with its own first entry (README, Known limits)', () => {
    const tps = [written('a:x', EVENTS.productViewed, T0), written('u:x', EVENTS.productViewed, T0 + DAY), written('u:x', EVENTS.orderCompleted, T0 + 2 * DAY)];
    const batch = recomputeFunnel(tps, (id) => (id === 'a:x' ? 'u:x' : id), rules, config, T0 + 3 * DAY);
    expect(summary(batch.expected)).toEqual(['u:x entry consideration 0h', 'u:x entry consideration 24h', 'u:x conversion purchase 48h', 'u:x entry purchase 48h']);
  });

  it('merges two devices’ journeys when a touchpoint links them, as the streaming core does in event time, not as one journey from the start', () => {
    // Device A reads an ad; device B, another anonymous id, views a product an hour later (its own
    // journey opens at consideration), signs in as x and buys; A signs in as x after that. Seed 42's
    // 5-day import had two such customers (README, "Load your history": verify).
    const anon = (id: string, event: string, at: number, o: Parameters<typeof touchpoint>[2] = {}) => touchpoint(event, at, { userId: null, anonymousId: id, ...o });
    const steps: Array<{ writtenAs: string; tp: ReturnType<typeof touchpoint>; merges?: string }> = [
      { writtenAs: 'a:A', tp: anon('A', EVENTS.adClicked, T0) },
      { writtenAs: 'a:B', tp: anon('B', EVENTS.productViewed, T0 + HOUR) },
      { writtenAs: 'u:x', tp: anon('B', 'identify', T0 + 2 * HOUR, { type: 'identify', userId: 'x' }), merges: 'a:B' },
      { writtenAs: 'u:x', tp: anon('B', EVENTS.orderCompleted, T0 + 3 * HOUR, { userId: 'x' }) },
      { writtenAs: 'u:x', tp: anon('A', 'identify', T0 + 5 * HOUR, { type: 'identify', userId: 'x' }), merges: 'a:A' },
      { writtenAs: 'u:x', tp: anon('A', EVENTS.productViewed, T0 + 6 * HOUR, { userId: 'x' }) },
    ];
    // The streaming core: the absorbed id's journey exported and merged into the survivor's before the linking touchpoint.
    const partition = new StagesPartition({ rules, config, churn: loadShippedChurnModel() });
    const rows = steps.flatMap(({ writtenAs, tp, merges }) => {
      const merged = merges === undefined ? [] : partition.importCustomer(writtenAs, partition.exportCustomer(merges)!).funnel;
      return [...merged, ...partition.process({ customerId: writtenAs, accountId: null, sessionId: '', late: false, touchpoint: tp }, tp.receivedAt).funnel];
    });
    const settled = T0 + 7 * HOUR;
    const resolve = (id: string) => (id.startsWith('a:') ? 'u:x' : id);
    const batch = recomputeFunnel(steps.map((s) => ({ customerId: s.writtenAs, touchpoint: s.tp })), resolve, rules, config, settled);
    // No conversion from A's awareness into B's consideration: nobody knew they were one person then.
    expect(summary(batch.expected)).toEqual(['u:x entry awareness 0h', 'u:x entry consideration 1h', 'u:x conversion purchase 3h', 'u:x entry purchase 3h']);
    expect(compareFunnel(batch, facts(rows), resolve, settled)).toMatchObject({ mismatches: 0, foundRows: 4 });
  });

  it('takes a touchpoint stamped after its receipt at its receipt time, as the streaming side does', () => {
    const skewed = { customerId: 'c', touchpoint: touchpoint(EVENTS.productViewed, T0 + 5 * DAY, { userId: 'c', receivedAt: T0 }) };
    expect(summary(recomputeFunnel([skewed], same, rules, config, T0 + 8 * DAY).expected)).toEqual(['c entry consideration 0h', 'c dropoff consideration 168h']);
  });
});

describe('settledEventTime', () => {
  it('is the least over sources of their latest event time, less the grace period', () => {
    const tps = [
      { source: 0, timestamp: T0 + 5 * DAY },
      { source: 0, timestamp: T0 + DAY },
      { source: 1, timestamp: T0 + 2 * DAY },
      { source: 1, timestamp: T0 + 3 * DAY },
    ];
    expect(settledEventTime(tps, 10 * MINUTE)).toBe(T0 + 3 * DAY - 10 * MINUTE);
    expect(settledEventTime([], 10 * MINUTE)).toBe(-Infinity);
  });
});

describe('compareFunnel', () => {
  const settled = T0 + 9 * DAY;
  const batch = recomputeFunnel(history, same, rules, config, settled);

  it('finds nothing wrong in what the streaming core emits for the same touchpoints (arrival order, one tick)', () => {
    const report = compareFunnel(batch, facts(streamed(history, settled)), same, settled);
    expect(report).toMatchObject({ expectedRows: 5, foundRows: 5, undecidedRows: 0, mismatches: 0, examples: [] });
    expect(report.counts).toContainEqual({ site: 'shop', stage: 'consideration', kind: 'dropoff', expected: 1, found: 1 });
  });

  it('does not judge a time-driven row due after the settled time, present or not', () => {
    // A tick a day further on has also dropped the buyer's purchase window (due day 10).
    const later = facts(streamed(history, T0 + 11 * DAY));
    expect(later).toHaveLength(6);
    expect(compareFunnel(batch, later, same, settled)).toMatchObject({ foundRows: 6, undecidedRows: 1, mismatches: 0 });
  });

  it('reports a missing row, an extra row and a drop-off where a conversion was due, with the customers', () => {
    const rows = facts(streamed(history, settled));
    const missing = rows.filter((r) => !(r.customerId === 'browser' && r.kind === 'dropoff'));
    expect(compareFunnel(batch, missing, same, settled)).toMatchObject({
      mismatches: 1,
      examples: [{ customerId: 'browser', counts: [{ site: 'shop', stage: 'consideration', kind: 'dropoff', expected: 1, found: 0 }] }],
    });
    const extra = [...rows, { customerId: 'browser', site: 'shop', kind: 'entry' as const, stage: 'purchase' as const, at: T0 + 2 * DAY }];
    expect(compareFunnel(batch, extra, same, settled).counts).toContainEqual({ site: 'shop', stage: 'purchase', kind: 'entry', expected: 1, found: 2 });
    // The wall-clock bug of issue 18: the buyer's window dropped before the order came, the order then a fresh entry.
    const early = [...rows.filter((r) => !(r.customerId === 'buyer' && r.kind === 'conversion')), { customerId: 'buyer', site: 'shop', kind: 'dropoff' as const, stage: 'consideration' as const, at: T0 + 7 * DAY }];
    const report = compareFunnel(batch, early, same, settled);
    expect(report.mismatches).toBe(1);
    expect(report.examples[0]?.counts).toEqual([
      { site: 'shop', stage: 'consideration', kind: 'dropoff', expected: 0, found: 1 },
      { site: 'shop', stage: 'purchase', kind: 'conversion', expected: 1, found: 0 },
    ]);
  });

  it('counts rows of an absorbed id under its survivor, and tells stitched customers apart', () => {
    const tps = [written('a:x', EVENTS.productViewed, T0), written('u:x', EVENTS.orderCompleted, T0 + DAY)];
    const resolve = (id: string) => (id === 'a:x' ? 'u:x' : id);
    const merged = recomputeFunnel(tps, resolve, rules, config, T0 + 2 * DAY);
    // As the pipeline writes it: the absorbed id's entry under its own id, the rest under the survivor.
    const rows = facts(merged.expected).map((r, i) => (i === 0 ? { ...r, customerId: 'a:x' } : r));
    expect(compareFunnel(merged, rows, resolve, T0 + 2 * DAY)).toMatchObject({ mismatches: 0 });
    expect(merged.stitched).toEqual(new Set(['u:x']));
    expect(compareFunnel(merged, rows.slice(1), resolve, T0 + 2 * DAY)).toMatchObject({ mismatches: 1, mismatchesOfMergedCustomers: 1 });
    expect(compareFunnel(batch, facts(streamed(history, settled)).slice(1), same, settled)).toMatchObject({ mismatches: 1, mismatchesOfMergedCustomers: 0 });
  });
});
