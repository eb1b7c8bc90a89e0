import { describe, expect, it } from 'vitest';
import { fitBgNbd } from '../../sessionizer/stages/churn/bgnbd.js';
import { observationFromTimestamps } from '../../sessionizer/stages/churn/fit-input.js';
import { DEFAULT_PURCHASE_EVENTS } from '../../sessionizer/refit-bgnbd.js';
import { compareBgNbd } from '../../sessionizer/verify/verify-bgnbd.js';
import { parseSimulatorConfig, type SimulatorConfig } from './config.js';
import { createSimulator, estimateCallsPerJourney } from './generator.js';
import { persona, START } from './test-fixtures.js';

const DAY = 86_400_000;
const DAYS = 90;

/**
 * Simulated history as `npm run simulate` makes it (journeys arriving over DAYS, delivery faults on,
 * repeat purchases through the whole period), reduced to BG/NBD observations the way the refit
 * from ClickHouse does: purchase events by userId, distinct UTC purchase days, observed until the
 * newest event.
 */
function simulatedObservations(config: SimulatorConfig, journeys: number) {
  const end = START + DAYS * DAY;
  const callsPerSecond = (journeys * estimateCallsPerJourney(config)) / (DAYS * 86_400);
  const sim = createSimulator({ ...config, arrival: { ...config.arrival, callsPerSecond } }, { startTime: START, maxJourneys: journeys });
  const purchases = new Map<string, number[]>();
  let newest = 0;
  for (const { call } of sim.nextUntil(end)) {
    const ts = Date.parse(call.timestamp);
    newest = Math.max(newest, ts);
    if (call.type !== 'track' || !DEFAULT_PURCHASE_EVENTS.includes(call.event!)) continue;
    expect(call.userId).toBeDefined();
    const list = purchases.get(call.userId!) ?? [];
    list.push(ts);
    purchases.set(call.userId!, list);
  }
  return [...purchases.values()].map((ts) => observationFromTimestamps(ts, newest, config.repeatPurchases.timeUnitDays)!);
}

describe('repeat purchases (BG/NBD)', () => {
  it('are recovered by a refit of the generated purchases: r, α, a, b within the band of standard errors', () => {
    // Everyone who considers buys, so every journey adds a customer to the fit; a shop and a SaaS
    // persona, so orders, contracts and renewals all count.
    const config = parseSimulatorConfig({
      seed: 7,
      personas: [
        persona('buyer', 'shop.example', { awarenessToConsideration: 1, considerationToPurchase: 1 }),
        persona('account', 'app.example', { awarenessToConsideration: 1, considerationToPurchase: 1 }),
      ],
      repeatPurchases: { r: 0.75, alpha: 4, a: 0.8, b: 2.5, timeUnitDays: 7, horizonDays: DAYS },
    });
    const observations = simulatedObservations(config, 6_000);
    expect(observations.length).toBeGreaterThan(6_000);
    const fit = fitBgNbd(observations);
    const report = compareBgNbd(fit, config.repeatPurchases);
    expect(report.parameters.filter((p) => !p.within)).toEqual([]);
    // Standard errors small enough for the check to mean something: every band excludes 0.
    for (const p of report.parameters) expect(p.standardError! * report.band).toBeLessThan(p.generating);
  }, 120_000);
});
