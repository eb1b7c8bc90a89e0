import { beforeAll, describe, expect, it } from 'vitest';
import { EVENTS } from '../../../schemas/event-names.js';
import { STAGES } from '../../../schemas/journey.js';
import type { SimulatorConfig } from './config.js';
import { persona, runJourneys, testConfig, type Run } from './test-fixtures.js';

/**
 * The generated journeys follow the configured funnel. Tolerance: ±3 percentage points, or 4
 * standard errors where a stage has few people (the draw is fixed by the seed, so this is a check
 * on the model, not a flaky test).
 */
function expectRate(observed: number, trials: number, expected: number): void {
  const stdError = Math.sqrt((expected * (1 - expected)) / Math.max(1, trials));
  expect(Math.abs(observed - expected)).toBeLessThanOrEqual(Math.max(0.03, 4 * stdError));
}

const TRANSITIONS = ['awarenessToConsideration', 'considerationToPurchase', 'purchaseToRetention', 'retentionToAdvocacy'] as const;

describe('generated funnel', () => {
  let config: SimulatorConfig;
  let run: Run;

  beforeAll(() => {
    config = testConfig({
      personas: [
        persona('eager', 'shop.example', { awarenessToConsideration: 0.7, considerationToPurchase: 0.45, purchaseToRetention: 0.6, retentionToAdvocacy: 0.4 }),
        persona('picky', 'shop.example', { awarenessToConsideration: 0.4, considerationToPurchase: 0.25, purchaseToRetention: 0.5, retentionToAdvocacy: 0.3 }, { channels: { store: 1, email: 1 } }),
        persona('committee', 'app.example', { awarenessToConsideration: 0.5, considerationToPurchase: 0.4, purchaseToRetention: 0.7, retentionToAdvocacy: 0.35 }, { committeeSizeWeights: [0, 1, 1] }),
      ],
    });
    run = runJourneys(config, 45_000);
  }, 180_000);

  it('enters each stage with the configured stage-to-stage probability (±3 pp over 15k journeys per persona)', () => {
    for (const p of config.personas) {
      const stages = run.stats.stages[p.name]!;
      expect(stages.awareness).toBeGreaterThan(13_000);
      TRANSITIONS.forEach((transition, i) => {
        const from = stages[STAGES[i]!];
        const to = stages[STAGES[i + 1]!];
        expectRate(to / from, from, p.transitions[transition]);
      });
    }
  });

  it('has the stage mix the transitions imply: share of journeys reaching each stage', () => {
    for (const p of config.personas) {
      const stages = run.stats.stages[p.name]!;
      let expected = 1;
      TRANSITIONS.forEach((transition, i) => {
        expected *= p.transitions[transition];
        expectRate(stages[STAGES[i + 1]!] / stages.awareness, stages.awareness, expected);
      });
    }
  });

  it('counts as purchases exactly the first orders and contracts in the output', () => {
    const firstBuys = new Set<string>();
    for (const { call } of run.calls) {
      if (call.event === EVENTS.contractSigned || (call.event === EVENTS.orderCompleted && !firstBuys.has(call.userId!))) firstBuys.add(call.userId!);
    }
    const purchases = Object.values(run.stats.stages).reduce((a, s) => a + s.purchase, 0);
    expect(firstBuys.size).toBe(purchases);
  });

  it('makes advocates promoters and keeps other feedback low', () => {
    let high = 0;
    let low = 0;
    for (const { call } of run.calls) {
      const rating = call.event === EVENTS.productReviewed ? (call.properties.rating as number) : null;
      const score = call.event === EVENTS.npsSubmitted ? (call.properties.score as number) : null;
      if ((rating !== null && rating >= 4) || (score !== null && score >= 9)) high++;
      else if (rating !== null || score !== null) low++;
    }
    const advocacy = Object.values(run.stats.stages).reduce((a, s) => a + s.advocacy, 0);
    // Every advocate enters with exactly one promoter review/NPS or a share.
    const shares = run.stats.calls.byEvent[EVENTS.productShared] ?? 0;
    expect(high + shares).toBe(advocacy);
    expect(low).toBeGreaterThan(0);
  });

  it('gives buying committees several people in one account, from demo to contract', () => {
    const members = new Map<string, Set<string>>();
    for (const { call } of run.calls) {
      if (call.type !== 'group') continue;
      const set = members.get(call.groupId!) ?? new Set<string>();
      set.add(call.userId!);
      members.set(call.groupId!, set);
    }
    const sizes = [...members.values()].map((s) => s.size);
    expect(sizes.some((n) => n >= 2)).toBe(true);
    expect(sizes.every((n) => n <= 3)).toBe(true);

    const firstAt = new Map<string, number>();
    for (const c of run.calls) {
      if (c.call.event === EVENTS.demoRequested && !firstAt.has(c.call.userId!)) firstAt.set(c.call.userId!, c.at);
      if (c.call.event === EVENTS.contractSigned) expect(firstAt.get(c.call.userId!)).toBeLessThan(c.at);
    }
  });

  it('creates new journeys from referrals that start with Referral Accepted', () => {
    expect(run.stats.referredJourneys).toBeGreaterThan(0);
    expect(run.stats.calls.byEvent[EVENTS.referralAccepted]).toBe(run.stats.referredJourneys);
    expect(run.stats.journeys).toBe(45_000 + run.stats.referredJourneys);
  });
});

describe('consideration exits', () => {
  it('lets non-buyers leave after viewing, adding or checking out with the configured weights', () => {
    const config = testConfig({
      personas: [
        persona(
          'browser',
          'shop.example',
          { awarenessToConsideration: 1, considerationToPurchase: 0.4, purchaseToRetention: 0 },
          { considerationExitWeights: [0.5, 0.3, 0.2] },
        ),
      ],
    });
    const { calls, stats } = runJourneys(config, 12_000);
    const considering = stats.stages.browser!.consideration;
    // The first funnel happens in one visit on one device, and nobody is retained (no repeat orders).
    const reached = (event: string) => new Set(calls.filter((c) => c.call.event === event).map((c) => c.call.anonymousId)).size / considering;
    expectRate(reached(EVENTS.productAdded), considering, 0.4 + 0.6 * 0.5);
    expectRate(reached(EVENTS.checkoutStarted), considering, 0.4 + 0.6 * 0.2);
    expectRate(reached(EVENTS.orderCompleted), considering, 0.4);
  });
});
