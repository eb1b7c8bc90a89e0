import { describe, expect, it } from 'vitest';
import { fitBgNbd } from '../../services/sessionizer/stages/churn/bgnbd.js';
import { observationFromTimestamps } from '../../services/sessionizer/stages/churn/fit-input.js';
import { DEFAULT_PURCHASE_EVENTS } from '../../services/sessionizer/refit-bgnbd.js';
import { compareBgNbd } from '../../services/sessionizer/verify/verify-bgnbd.js';
import { parseSimulatorConfig } from '../../services/simulator/core/config.js';
import { persona, simulatePurchases } from '../../services/simulator/core/test-fixtures.js';

const DAYS = 90;

describe('repeat purchases (BG/NBD)', () => {
  it('are recovered by a refit of the generated purchases: r, α, a, b within the band of standard errors', () => {
    // Everyone who considers buys, so every journey adds a customer to the fit; a shop and a SaaS
    // persona, so orders, contracts and renewals all count. Delivery faults (late, duplicate,
    // out-of-order calls) are on, as in history mode.
    const config = parseSimulatorConfig({
      seed: 7,
      personas: [
        persona('buyer', 'shop.example', { awarenessToConsideration: 1, considerationToPurchase: 1 }),
        persona('account', 'app.example', { awarenessToConsideration: 1, considerationToPurchase: 1 }),
      ],
      repeatPurchases: { r: 0.75, alpha: 4, a: 0.8, b: 2.5, timeUnitDays: 7, horizonDays: DAYS },
    });
    // Reduced as the refit from ClickHouse does: distinct UTC purchase days, observed until the newest event.
    const { byCustomer, newest } = simulatePurchases(config, 6_000, DAYS, DEFAULT_PURCHASE_EVENTS);
    const observations = [...byCustomer.values()].map((ts) => observationFromTimestamps(ts, newest, config.repeatPurchases.timeUnitDays)!);
    expect(observations.length).toBeGreaterThan(6_000);
    const report = compareBgNbd(fitBgNbd(observations), config.repeatPurchases);
    expect(report.parameters.filter((p) => !p.within)).toEqual([]);
    // Standard errors small enough for the check to mean something: every band excludes 0.
    for (const p of report.parameters) expect(p.standardError! * report.band).toBeLessThan(p.generating);
  }, 120_000);
});
