import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENTS, PAGE_PATHS } from '../../../../schemas/event-names.js';
import type { CustomerTouchpoint } from '../../../../schemas/journey.js';
import { DAY, HOUR, loadShippedChurnModel, loadShippedStageRules, pageView, T0, touch } from '../testing.js';
import { applyTouchpoint } from '../journey.js';
import { newJourneyState, type JourneyState } from '../journey-state.js';
import { defaultStagesCoreConfig } from '../stages-config.js';
import { pAlive } from './bgnbd.js';
import { assessChurn, churnDueAt, scoreChurn } from './score.js';

const rules = loadShippedStageRules('ecommerce.yaml');
const config = defaultStagesCoreConfig();
const model = loadShippedChurnModel();
const WEEK = 7 * DAY;

function stateFrom(touchpoints: CustomerTouchpoint[], s: JourneyState = newJourneyState('c1')): JourneyState {
  return touchpoints.reduce((acc, ctp) => applyTouchpoint(acc, ctp, rules, config).state, s);
}

/** Bought in week 0, 2 and 4: x = 2, t_x = 4 weeks. */
const buyer = () => stateFrom([touch('c1', EVENTS.orderCompleted, T0), touch('c1', EVENTS.orderCompleted, T0 + 2 * WEEK), touch('c1', EVENTS.orderCompleted, T0 + 4 * WEEK)]);

describe('churn score', () => {
  it('uses BG/NBD P(alive) in the fitted time unit for a customer with purchases', () => {
    const a = assessChurn(buyer(), T0 + 20 * WEEK, model, config);
    expect(a.pAlive).toBeCloseTo(pAlive(model.bgnbd, 2, 4, 20), 12);
    expect(a.reasons[0]).toMatch(/^P\(alive\) 0\.\d\d from purchase history \(2 repeat purchases, last 112 days ago\)$/);
    expect(a.score).toBeGreaterThanOrEqual(1 - a.pAlive);
  });

  it('uses the recency of activity for a customer who never bought', () => {
    const s = stateFrom([touch('c1', EVENTS.productViewed, T0)]);
    expect(assessChurn(s, T0, model, config)).toMatchObject({ score: 0, pAlive: 1, reasons: [] });
    const month = assessChurn(s, T0 + 30 * DAY, model, config);
    expect(month.pAlive).toBeCloseTo(0.5, 12);
    expect(month.score).toBeCloseTo(0.5, 12);
    expect(month.reasons).toEqual(['no purchase yet and no activity for 30 days']);
    expect(assessChurn(s, T0 + 90 * DAY, model, config).score).toBeGreaterThan(month.score);
  });

  it('raises risk for complaints, low feedback, failed payments and cancellation visits, ordered by contribution', () => {
    const at = T0 + 4 * WEEK + DAY;
    const s = stateFrom(
      [
        touch('c1', EVENTS.supportTicketOpened, at - 3 * HOUR),
        touch('c1', EVENTS.npsSubmitted, at - 2 * HOUR, { props: { score: 3 } }),
        touch('c1', EVENTS.paymentFailed, at - HOUR),
        pageView('c1', PAGE_PATHS.cancel, at),
      ],
      buyer(),
    );
    const a = assessChurn(s, at, { ...model }, { ...config, churn: { ...config.churn, maxReasons: 10 } });
    const signals = a.contributions.map((c) => c.signal);
    expect(signals).toEqual(expect.arrayContaining(['complaint', 'lowFeedback', 'paymentFailed', 'cancellationIntent']));
    expect(a.reasons).toEqual(expect.arrayContaining(['1 recent support complaint', 'low feedback (NPS 3)', 'payment failed', 'visited the cancellation page']));
    const contributions = a.contributions.map((c) => c.contribution);
    expect(contributions).toEqual([...contributions].sort((x, y) => y - x));
    expect(a.reasons[0]).toBe('payment failed'); // weight 0.6 at full strength beats the others
    expect(a.nextAction).toBe('update payment method');
  });

  it('counts a review of 2 stars or less as low feedback', () => {
    const s = stateFrom([touch('c1', EVENTS.productReviewed, T0 + 4 * WEEK, { props: { rating: 1 } })], buyer());
    expect(assessChurn(s, T0 + 4 * WEEK, model, config).reasons).toContain('low feedback (1 star review)');
  });

  it('settles a failed payment with the next purchase', () => {
    const failed = stateFrom([touch('c1', EVENTS.paymentFailed, T0 + 5 * WEEK)], buyer());
    expect(assessChurn(failed, T0 + 5 * WEEK, model, config).activeSignals.has('paymentFailed')).toBe(true);
    const paid = stateFrom([touch('c1', EVENTS.orderCompleted, T0 + 5 * WEEK + DAY)], failed);
    expect(assessChurn(paid, T0 + 5 * WEEK + DAY, model, config).activeSignals.has('paymentFailed')).toBe(false);
  });

  it('lets old trouble fade', () => {
    const s = stateFrom([touch('c1', EVENTS.supportTicketOpened, T0 + 4 * WEEK)], buyer());
    const fresh = assessChurn(s, T0 + 4 * WEEK, model, config).contributions.find((c) => c.signal === 'complaint');
    const old = assessChurn(s, T0 + 4 * WEEK + 90 * DAY, model, config).contributions.find((c) => c.signal === 'complaint');
    expect(old!.strength).toBeLessThan(fresh!.strength / 4);
  });

  it('notices falling engagement: the last 14 days against the 28 before', () => {
    const busy = Array.from({ length: 28 }, (_, d) => pageView('c1', '/', T0 + d * DAY));
    const s = stateFrom([...busy, pageView('c1', '/', T0 + 30 * DAY)]);
    const a = assessChurn(s, T0 + 41 * DAY, model, config);
    expect(a.activeSignals.has('fallingEngagement')).toBe(true);
    expect(a.reasons.join()).toMatch(/activity down \d+% \(last 14 days vs the 28 before\)/);
    const steady = stateFrom(Array.from({ length: 42 }, (_, d) => pageView('c1', '/', T0 + d * DAY)));
    expect(assessChurn(steady, T0 + 41 * DAY, model, config).activeSignals.has('fallingEngagement')).toBe(false);
  });

  it('flags an abandoned cart after a day without an order, and suggests a reminder', () => {
    const s = stateFrom([touch('c1', EVENTS.productAdded, T0)]);
    expect(assessChurn(s, T0 + 23 * HOUR, model, config).activeSignals.has('cartAbandoned')).toBe(false);
    const a = assessChurn(s, T0 + 25 * HOUR, model, config);
    expect(a.reasons).toContain('cart abandoned 25 hours ago');
    expect(a.nextAction).toBe('send cart reminder');
    const ordered = stateFrom([touch('c1', EVENTS.orderCompleted, T0 + 2 * HOUR)], s);
    expect(assessChurn(ordered, T0 + 3 * DAY, model, config).activeSignals.has('cartAbandoned')).toBe(false);
  });

  it('suggests service recovery for a complaining customer at high risk', () => {
    const s = stateFrom([touch('c1', EVENTS.supportTicketOpened, T0 + 12 * WEEK), touch('c1', EVENTS.supportTicketOpened, T0 + 12 * WEEK + HOUR)], buyer());
    const a = assessChurn(s, T0 + 13 * WEEK, model, config);
    expect(a.score).toBeGreaterThanOrEqual(0.7);
    expect(a.nextAction).toBe('service recovery outreach');
  });

  it('stays within [0, 1] for any mix of signals and any time', () => {
    const events = [EVENTS.orderCompleted, EVENTS.supportTicketOpened, EVENTS.paymentFailed, EVENTS.subscriptionCancelled, EVENTS.productAdded, EVENTS.npsSubmitted, EVENTS.cancellationPageViewed, EVENTS.productViewed];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...events), fc.integer({ min: 0, max: 30 * 24 })), { maxLength: 25 }), fc.integer({ min: 0, max: 3000 }), (steps, laterDays) => {
        let at = T0;
        const s = stateFrom(steps.map(([e, gap], i) => touch('c1', e, (at += gap * HOUR), { messageId: `m${i}`, props: { score: 2 } })));
        const a = assessChurn(s, at + laterDays * DAY, model, config);
        expect(a.score).toBeGreaterThanOrEqual(0);
        expect(a.score).toBeLessThanOrEqual(1);
        expect(a.pAlive).toBeGreaterThanOrEqual(0);
        expect(a.pAlive).toBeLessThanOrEqual(1);
        expect(a.reasons.length).toBeLessThanOrEqual(config.churn.maxReasons);
      }),
    );
  });
});

describe('churn emission', () => {
  it('emits the first score, then only changes of at least minDelta or of the action', () => {
    const s = stateFrom([touch('c1', EVENTS.productViewed, T0)]);
    const first = scoreChurn(s, T0, model, config);
    expect(first.churn).toMatchObject({ customerId: 'c1', at: T0, score: 0, stage: 'consideration', crossedThreshold: false, nextAction: 'none' });
    const small = scoreChurn(first.state, T0 + DAY, model, config);
    expect(small.churn).toBeNull();
    expect(small.state.churn.scoredAt).toBe(T0 + DAY);
    expect(small.state.churn.emittedAt).toBe(T0);
    expect(scoreChurn(small.state, T0 + 5 * DAY, model, config).churn).not.toBeNull();
  });

  it('sets crossedThreshold once when the score rises through the threshold, and again after it fell back', () => {
    let s = stateFrom([touch('c1', EVENTS.productViewed, T0)]);
    const crossings: number[] = [];
    const scoreAt = (at: number) => {
      const r = scoreChurn(s, at, model, config);
      s = r.state;
      if (r.churn?.crossedThreshold) crossings.push(at);
      return r;
    };
    for (let d = 1; d <= 120; d++) scoreAt(T0 + d * DAY); // silence alone: 0.7 is crossed at ~52 days
    expect(crossings).toHaveLength(1);
    expect(crossings[0]).toBeGreaterThan(T0 + 50 * DAY);
    expect(crossings[0]).toBeLessThan(T0 + 54 * DAY);
    s = stateFrom([touch('c1', EVENTS.productViewed, T0 + 121 * DAY)], s); // back: risk falls
    expect(scoreAt(T0 + 121 * DAY).churn?.score).toBeLessThan(0.7);
    for (let d = 122; d <= 240; d++) scoreAt(T0 + d * DAY);
    expect(crossings).toHaveLength(2);
  });

  it('uses a configurable threshold', () => {
    const s = stateFrom([touch('c1', EVENTS.productViewed, T0)]);
    const low = { ...config, churn: { ...config.churn, threshold: 0.3 } };
    expect(scoreChurn(s, T0 + 20 * DAY, model, low).churn?.crossedThreshold).toBe(true);
    expect(scoreChurn(s, T0 + 20 * DAY, model, config).churn?.crossedThreshold).toBe(false);
  });

  it('schedules rescoring of silent customers daily for a while, and when a cart becomes abandoned', () => {
    const s = scoreChurn(stateFrom([touch('c1', EVENTS.productViewed, T0)]), T0, model, config).state;
    expect(churnDueAt(s, config)).toBe(T0 + DAY);
    const late = { ...s, churn: { ...s.churn, scoredAt: T0 + 180 * DAY } };
    expect(churnDueAt(late, config)).toBeNull();
    const cart = scoreChurn(stateFrom([touch('c1', EVENTS.productAdded, T0 + HOUR)], s), T0 + HOUR, model, { ...config, churn: { ...config.churn, cartAbandonAfterMs: 2 * HOUR } }).state;
    expect(churnDueAt(cart, { ...config, churn: { ...config.churn, cartAbandonAfterMs: 2 * HOUR } })).toBe(T0 + 3 * HOUR);
  });
});
