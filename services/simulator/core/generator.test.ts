import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENTS } from '../../../schemas/event-names.js';
import { parseSimulatorConfig } from './config.js';
import { createSimulator } from './generator.js';
import type { SimulatedCall } from './segment-call.js';
import { HOUR, MINUTE, START, runJourneys, testConfig } from './test-fixtures.js';

const json = (calls: readonly SimulatedCall[]) => JSON.stringify(calls);

describe('createSimulator', () => {
  it('a messageId prefix gives a replayed seed new messageIds and nothing else new', () => {
    const config = testConfig({ seed: 5 });
    const plain = createSimulator(config, { startTime: START }).next(200);
    const prefixed = createSimulator(config, { startTime: START, messageIdPrefix: 'm-5-run2-' }).next(200);
    expect(prefixed.map((c) => c.call.messageId.replace('m-5-run2-', 'm-5-'))).toEqual(plain.map((c) => c.call.messageId));
    expect(prefixed.map((c) => ({ ...c.call, messageId: '' }))).toEqual(plain.map((c) => ({ ...c.call, messageId: '' })));
  });

  it('is deterministic: the same seed and config give identical calls and stats', () => {
    const config = parseSimulatorConfig({ incidents: [{ kind: 'conversion-drop', at: 10 * MINUTE, step: 'consideration→purchase', dropPct: 30 }] });
    const a = createSimulator(config, { startTime: START });
    const b = createSimulator(config, { startTime: START });
    for (let i = 0; i < 4; i++) expect(json(a.next(5000))).toBe(json(b.next(5000)));
    expect(a.stats()).toEqual(b.stats());
  });

  it('gives different traffic for a different seed', () => {
    const a = createSimulator(parseSimulatorConfig({ seed: 1 }), { startTime: START }).next(500);
    const b = createSimulator(parseSimulatorConfig({ seed: 2 }), { startTime: START }).next(500);
    expect(json(a)).not.toBe(json(b));
    expect(a.every((c) => c.call.messageId.startsWith('m-1-'))).toBe(true);
  });

  it('returns exactly n calls per next(n), in send-time order, with timestamps matching the numbers', () => {
    const sim = createSimulator(parseSimulatorConfig({}), { startTime: START });
    let previous = START;
    for (const n of [1, 7, 1000, 20_000]) {
      const batch = sim.next(n);
      expect(batch).toHaveLength(n);
      for (const c of batch) {
        expect(c.sendAt).toBeGreaterThanOrEqual(previous);
        previous = c.sendAt;
        expect(Date.parse(c.call.timestamp)).toBe(c.at);
        expect(Date.parse(c.call.sentAt)).toBe(c.sendAt);
        expect(c.sendAt).toBeGreaterThanOrEqual(c.at);
      }
    }
    expect(sim.now()).toBe(previous);
  });

  it('makes calls shaped like Segment SDK calls, with the persona on every call', () => {
    const { calls } = runJourneys(testConfig(), 400);
    const routes = new Set(calls.map((c) => `${c.site} ${c.source} ${c.writeKey}`));
    expect(routes).toEqual(
      new Set([
        'shop.example web wk_shop_web',
        'shop.example ios wk_shop_ios',
        'shop.example android wk_shop_android',
        'shop.example server wk_shop_server',
        'app.example web wk_app_web',
        'app.example server wk_app_server',
      ]),
    );
    for (const { call, site, source } of calls) {
      expect(call.userId ?? call.anonymousId).toBeTruthy();
      expect(call.messageId).toMatch(/^m-42-\d+$/);
      expect(call.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(call.context.traits.persona).toMatch(/^(online-first|store-first|b2b-committee)$/);
      expect(call.context.device.type).toMatch(/^(desktop|mobile|tablet|server)$/);
      if (source === 'server') expect(call.context.page).toBeUndefined();
      else {
        expect(call.context.userAgent ?? call.context.app).toBeDefined();
        expect(call.context.page?.url.startsWith(`https://${site}/`)).toBe(true);
      }
      if (call.type === 'page') {
        expect(call.name).toBeTruthy();
        expect(call.properties).toMatchObject({ path: expect.stringMatching(/^\//), url: `https://${site}${call.properties.path as string}` });
        expect(call.context.page).toBe(call.properties);
      }
      if (call.type === 'track') expect(call.event).toBeTruthy();
      if (call.type === 'identify') {
        expect(call.userId).toBeDefined();
        expect(call.traits).toMatchObject({ persona: call.context.traits.persona, email: `${call.userId!}@example.com` });
      }
      if (call.type === 'group') expect(call.groupId).toMatch(/^acct-/);
      if (call.type === 'alias') expect([call.previousId, call.userId].every(Boolean)).toBe(true);
      // What JSON.stringify sends: absent optional fields are dropped, not null.
      expect(JSON.stringify(call)).not.toContain('null');
    }
    const types = new Set(calls.map((c) => c.call.type));
    expect(types).toEqual(new Set(['page', 'track', 'identify', 'alias', 'group']));
  });

  it('uses the event vocabulary with meaningful properties', () => {
    const { calls } = runJourneys(testConfig(), 3000);
    const known = new Set<string>(Object.values(EVENTS));
    for (const { call } of calls) {
      if (call.type !== 'track') continue;
      expect(known.has(call.event!)).toBe(true);
      const props = call.properties;
      if (call.event === EVENTS.orderCompleted || call.event === EVENTS.contractSigned) expect(props.revenue).toBeGreaterThan(0);
      if (call.event === EVENTS.productReviewed) expect([1, 2, 3, 4, 5]).toContain(props.rating);
      if (call.event === EVENTS.npsSubmitted) expect(Number.isInteger(props.score) && (props.score as number) >= 0 && (props.score as number) <= 10).toBe(true);
      if (call.event === EVENTS.checkoutStarted) expect(props.revenue).toBeUndefined();
    }
    const referred = calls.filter((c) => c.call.event === EVENTS.referralAccepted);
    expect(referred.length).toBeGreaterThan(0);
    const senders = new Map(calls.filter((c) => c.call.event === EVENTS.referralSent).map((c) => [c.call.userId, c.at]));
    for (const r of referred) {
      const referrerId = r.call.properties.referrerId as string;
      expect(senders.get(referrerId)).toBeLessThan(r.at);
      // A referred person's journey starts with the acceptance.
      expect(r.call.userId).toBeUndefined();
    }
  });

  it('keeps invariants for any seed: ids, order, one identity per call, unique messageIds without duplicates', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (seed) => {
        const { calls, stats } = runJourneys(testConfig({ seed }), 60);
        const ids = new Set<string>();
        let previous = 0;
        for (const c of calls) {
          expect(c.sendAt).toBeGreaterThanOrEqual(previous);
          previous = c.sendAt;
          expect(ids.has(c.call.messageId)).toBe(false);
          ids.add(c.call.messageId);
          expect(c.call.userId !== undefined || c.call.anonymousId !== undefined).toBe(true);
        }
        expect(stats.calls.emitted).toBe(calls.length);
        expect(stats.calls.generated).toBe(calls.length);
        expect(stats.journeys).toBe(60 + stats.referredJourneys);
      }),
      { numRuns: 15 },
    );
  });

  it('ends a bounded run once its journeys are done, and counts everything it returned', () => {
    const sim = createSimulator(testConfig(), { startTime: START, maxJourneys: 50 });
    let total = 0;
    while (!sim.done()) total += sim.next(1000).length;
    expect(sim.next(10)).toEqual([]);
    const stats = sim.stats();
    expect(stats.calls.emitted).toBe(total);
    expect(stats.activePeople).toBe(0);
    expect(stats.heldCalls).toBe(0);
    expect(Object.values(stats.stages).reduce((a, s) => a + s.awareness, 0)).toBe(stats.journeys);
  });

  it('returns only calls sent up to the requested time from nextUntil', () => {
    const sim = createSimulator(parseSimulatorConfig({}), { startTime: START });
    const first = sim.nextUntil(START + 10 * MINUTE);
    expect(first.length).toBeGreaterThan(0);
    expect(first.every((c) => c.sendAt <= START + 10 * MINUTE)).toBe(true);
    const capped = sim.nextUntil(START + 20 * MINUTE, 100);
    expect(capped).toHaveLength(100);
    expect(capped[0]!.sendAt).toBeGreaterThanOrEqual(first[first.length - 1]!.sendAt);
  });

  it('settles at the target call rate once journeys have filled the pipeline', () => {
    const config = parseSimulatorConfig({ arrival: { callsPerSecond: 20 } });
    const sim = createSimulator(config, { startTime: START });
    sim.nextUntil(START + 2 * HOUR);
    const steady = sim.nextUntil(START + 4 * HOUR);
    const rate = steady.length / (2 * 3600);
    expect(rate).toBeGreaterThan(20 * 0.9);
    expect(rate).toBeLessThan(20 * 1.1);
    expect(sim.journeysPerSecond * sim.callsPerJourney).toBeCloseTo(20, 6);
  });

  it('follows the daily cycle when one is configured', () => {
    const config = parseSimulatorConfig({ arrival: { callsPerSecond: 2, dailyAmplitude: 0.5, peakHourUtc: 12 } });
    const sim = createSimulator(config, { startTime: START });
    const hours = Array.from({ length: 24 }, (_, h) => sim.nextUntil(START + (h + 1) * HOUR).length);
    const night = hours[1]! + hours[2]! + hours[3]!;
    const noon = hours[12]! + hours[13]! + hours[14]!;
    expect(noon / night).toBeGreaterThan(2);
  });
});
