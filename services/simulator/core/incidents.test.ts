import { describe, expect, it } from 'vitest';
import { EVENTS } from '../../../schemas/event-names.js';
import type { SimulatedCall } from './segment-call.js';
import { HOUR, MINUTE, START, byAnonymousId, eventOf, persona, runUntil, testConfig } from './test-fixtures.js';

/** Of the `from` calls made in [start, end), the share whose device's next funnel call is `to`. */
function stepConversion(calls: readonly SimulatedCall[], from: string, to: string, start: number, end: number): { rate: number; trials: number } {
  let trials = 0;
  let converted = 0;
  for (const list of byAnonymousId(calls).values()) {
    list.forEach((c, i) => {
      if (c.call.event !== from || c.at < start || c.at >= end) return;
      trials++;
      const next = list.slice(i + 1).find((n) => n.call.event === from || n.call.event === to);
      if (next?.call.event === to) converted++;
    });
  }
  return { rate: converted / trials, trials };
}

const shopOnly = (incidents: unknown[], transitions: Record<string, number> = {}) =>
  testConfig({
    arrival: { callsPerSecond: 30 },
    personas: [persona('shopper', 'shop.example', { awarenessToConsideration: 0.8, considerationToPurchase: 0.4, ...transitions }, { channels: { search: 1 } })],
    incidents: incidents as never,
  });

describe('conversion-drop incident', () => {
  it('lowers the Product Added→Checkout Started conversion by about dropPct after `at`', () => {
    const at = 60 * MINUTE;
    const end = START + 150 * MINUTE;
    const incident = { kind: 'conversion-drop', at, step: 'Product Added -> Checkout Started', dropPct: 50 };
    const control = runUntil(shopOnly([]), end);
    const { calls, stats } = runUntil(shopOnly([incident]), end);
    const afterAt = (run: readonly SimulatedCall[], from: string, to: string) => stepConversion(run, from, to, START + at + MINUTE, end - 20 * MINUTE);
    // Same seed, same people: the control run is the baseline for the same window.
    const dropped = afterAt(calls, EVENTS.productAdded, EVENTS.checkoutStarted);
    const baseline = afterAt(control.calls, EVENTS.productAdded, EVENTS.checkoutStarted);
    expect(dropped.trials).toBeGreaterThan(2000);
    expect(dropped.rate / baseline.rate).toBeGreaterThan(0.5 - 0.05);
    expect(dropped.rate / baseline.rate).toBeLessThan(0.5 + 0.05);
    expect(stats.incidents[0]!.applied).toBeGreaterThan(1000);
    // Before `at` the runs are the same traffic (messageIds and the order of same-millisecond calls aside).
    const early = (run: readonly SimulatedCall[]) =>
      run
        .filter((c) => c.sendAt < START + at)
        .map((c) => `${c.at} ${c.call.anonymousId ?? c.call.userId} ${eventOf(c)}`)
        .sort()
        .join('\n');
    expect(early(calls) === early(control.calls)).toBe(true);
    // The step before it is untouched.
    const viewToAdd = afterAt(calls, EVENTS.productViewed, EVENTS.productAdded).rate / afterAt(control.calls, EVENTS.productViewed, EVENTS.productAdded).rate;
    expect(viewToAdd).toBeCloseTo(1, 1);
  });

  it('lowers a stage step (consideration→purchase) and only within its window', () => {
    const at = 60 * MINUTE;
    // Nobody is retained, so every order is a first purchase (repeat orders are not a stage step).
    const config = shopOnly([{ kind: 'conversion-drop', at, durationMs: 40 * MINUTE, step: 'consideration→purchase', dropPct: 80 }], {
      purchaseToRetention: 0,
    });
    const { calls } = runUntil(config, START + 3 * HOUR);
    const conversion = (s: number, e: number) => stepConversion(calls, EVENTS.checkoutStarted, EVENTS.orderCompleted, START + s, START + e).rate;
    const before = conversion(20 * MINUTE, at - 5 * MINUTE);
    const during = conversion(at + MINUTE, at + 35 * MINUTE);
    const afterwards = conversion(at + 45 * MINUTE, 3 * HOUR - 20 * MINUTE);
    expect(during / before).toBeGreaterThan(0.2 - 0.08);
    expect(during / before).toBeLessThan(0.2 + 0.08);
    expect(afterwards / before).toBeCloseTo(1, 1);
  });
});

describe('tracking-stopped incident', () => {
  const at = 40 * MINUTE;
  const durationMs = 20 * MINUTE;
  const inWindow = (t: number) => t >= START + at && t < START + at + durationMs;

  it('produces no calls from the site during the window, and resumes afterwards', () => {
    const config = testConfig({
      arrival: { callsPerSecond: 30 },
      delivery: { lateRate: 0.02, outOfOrderRate: 0.02, duplicateRate: 0.02 },
      incidents: [{ kind: 'tracking-stopped', at, durationMs, site: 'shop.example' }],
    });
    const { calls, stats } = runUntil(config, START + 2 * HOUR);
    const shop = calls.filter((c) => c.site === 'shop.example');
    expect(shop.filter((c) => inWindow(c.at) || inWindow(c.sendAt))).toEqual([]);
    expect(shop.some((c) => c.sendAt < START + at)).toBe(true);
    expect(shop.some((c) => c.sendAt >= START + at + durationMs)).toBe(true);
    expect(calls.filter((c) => c.site === 'app.example' && inWindow(c.sendAt)).length).toBeGreaterThan(100);
    expect(stats.calls.suppressed).toBe(stats.incidents[0]!.applied);
    expect(stats.calls.suppressed).toBeGreaterThan(500);
  });

  it('can stop a single source of a site (a broken app release)', () => {
    const config = testConfig({
      arrival: { callsPerSecond: 30 },
      incidents: [{ kind: 'tracking-stopped', at, durationMs, site: 'shop.example', source: 'ios' }],
    });
    const { calls } = runUntil(config, START + 2 * HOUR);
    const during = calls.filter((c) => c.site === 'shop.example' && inWindow(c.sendAt));
    expect(during.filter((c) => c.source === 'ios')).toEqual([]);
    expect(during.filter((c) => c.source === 'web').length).toBeGreaterThan(100);
    expect(calls.filter((c) => c.source === 'ios' && !inWindow(c.sendAt)).length).toBeGreaterThan(100);
  });
});
