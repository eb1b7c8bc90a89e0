import { describe, expect, it } from 'vitest';
import { EVENTS } from '../../../schemas/event-names.js';
import type { CustomerTouchpoint, FunnelEvent, StageTransition } from '../../../schemas/journey.js';
import { DAY, loadShippedStageRules, pageView, T0, touch } from './testing.js';
import { applyTouchpoint, tick } from './journey.js';
import { newJourneyState, timeInStageMs, type JourneyState } from './journey-state.js';
import { defaultStagesCoreConfig } from './stages-config.js';
import { stableId } from './stable-id.js';

const rules = loadShippedStageRules('ecommerce.yaml');
const config = defaultStagesCoreConfig();

interface Run {
  state: JourneyState;
  transitions: StageTransition[];
  funnel: FunnelEvent[];
}

function run(touchpoints: CustomerTouchpoint[], state: JourneyState = newJourneyState(touchpoints[0]?.customerId ?? 'c1')): Run {
  const out: Run = { state, transitions: [], funnel: [] };
  for (const ctp of touchpoints) {
    const step = applyTouchpoint(out.state, ctp, rules, config);
    out.state = step.state;
    out.transitions.push(...step.transitions);
    out.funnel.push(...step.funnel);
  }
  return out;
}

const moves = (ts: StageTransition[]) => ts.map((t) => `${t.fromStage ?? '∅'}→${t.toStage}`);

/** A customer who bought on day 0 and again on day 10: retained since day 10. */
const retained = (id = 'c1') => run([touch(id, EVENTS.productViewed, T0 - DAY), touch(id, EVENTS.orderCompleted, T0), touch(id, EVENTS.orderCompleted, T0 + 10 * DAY)]);

describe('applyTouchpoint', () => {
  it('enters the first classified stage as journey 1', () => {
    const r = run([pageView('c1', '/blog/post', T0, { channel: 'social', utmCampaign: 'spring' })]);
    expect(r.state).toMatchObject({ stage: 'awareness', enteredAt: T0, journeyNumber: 1, furthestStage: 'awareness', previousStage: null });
    expect(r.transitions).toHaveLength(1);
    expect(r.transitions[0]).toMatchObject({ fromStage: null, toStage: 'awareness', cause: 'rule:blog-visit', channel: 'social', campaign: 'spring', journeyNumber: 1 });
  });

  it('leaves a customer without a stage on touchpoints no rule classifies', () => {
    const r = run([pageView('c1', '/', T0)]);
    expect(r.state.stage).toBeNull();
    expect(r.state.lastActivityAt).toBe(T0);
    expect(r.transitions).toEqual([]);
  });

  it('moves forward several stages at once', () => {
    const r = run([touch('c1', EVENTS.adClicked, T0), touch('c1', EVENTS.orderCompleted, T0 + DAY)]);
    expect(moves(r.transitions)).toEqual(['∅→awareness', 'awareness→purchase']);
    expect(r.state).toMatchObject({ stage: 'purchase', previousStage: 'awareness', furthestStage: 'purchase' });
  });

  it('does not move back on a touchpoint of an earlier stage', () => {
    const r = run([touch('c1', EVENTS.productViewed, T0 + 11 * DAY)], retained().state);
    expect(r.transitions).toEqual([]);
    expect(r.state.stage).toBe('retention');
  });

  it('derives the transition id from the messageId and the stage it enters', () => {
    const ctp = touch('c1', EVENTS.productViewed, T0);
    const a = run([ctp]);
    const b = run([ctp]);
    expect(a.transitions[0]?.transitionId).toBe(stableId(ctp.touchpoint.messageId, 'consideration'));
    expect(a.transitions).toEqual(b.transitions);
  });

  it('records the purchase history BG/NBD needs, counting same-day orders once', () => {
    const r = run([
      touch('c1', EVENTS.orderCompleted, T0),
      touch('c1', EVENTS.orderCompleted, T0 + 2 * 3_600_000),
      touch('c1', EVENTS.orderCompleted, T0 + 3 * DAY),
      touch('c1', EVENTS.orderCompleted, T0 + 9 * DAY),
    ]);
    expect(r.state.purchases).toEqual({ firstAt: T0, lastAt: T0 + 9 * DAY, repeatCount: 2 });
    expect(moves(r.transitions)).toEqual(['∅→purchase', 'purchase→retention']);
  });

  it('applies a late touchpoint at the journey clock, so stage entries stay ordered', () => {
    const r = run([touch('c1', EVENTS.productViewed, T0 + DAY), touch('c1', EVENTS.orderCompleted, T0)]);
    expect(r.transitions[1]).toMatchObject({ toStage: 'purchase', at: T0 + DAY });
    expect(r.state.lastActivityAt).toBe(T0 + DAY);
  });

  it('accumulates the time spent in each stage', () => {
    const r = run([touch('c1', EVENTS.adClicked, T0), touch('c1', EVENTS.productViewed, T0 + 2 * DAY), touch('c1', EVENTS.orderCompleted, T0 + 5 * DAY)]);
    expect(timeInStageMs(r.state, 'awareness', T0 + 9 * DAY)).toBe(2 * DAY);
    expect(timeInStageMs(r.state, 'consideration', T0 + 9 * DAY)).toBe(3 * DAY);
    expect(timeInStageMs(r.state, 'purchase', T0 + 9 * DAY)).toBe(4 * DAY);
  });

  it('keeps the account id of B2B touchpoints', () => {
    const r = run([touch('c1', EVENTS.demoRequested, T0, { accountId: 'acme' })]);
    expect(r.state.accountId).toBe('acme');
  });
});

describe('lapse (regression)', () => {
  it('moves a retained customer back to consideration 90 days after their last engagement, stamped at the deadline', () => {
    const s = retained().state;
    expect(tick(s, T0 + 100 * DAY, config).transitions).toEqual([]); // the deadline itself has not passed
    const t = tick(s, T0 + 130 * DAY, config);
    expect(t.transitions).toHaveLength(1);
    expect(t.transitions[0]).toMatchObject({ fromStage: 'retention', toStage: 'consideration', cause: 'lapsed', at: T0 + 100 * DAY, journeyNumber: 1 });
    expect(t.state).toMatchObject({ stage: 'consideration', previousStage: 'retention', furthestStage: 'retention' });
    expect(t.funnel.filter((f) => f.kind === 'entry')).toEqual([expect.objectContaining({ stage: 'consideration', fromStage: 'retention', at: T0 + 100 * DAY })]);
  });

  it('restarts the lapse clock on regular use', () => {
    const s = run([touch('c1', EVENTS.featureUsed, T0 + 60 * DAY)], retained().state).state;
    expect(tick(s, T0 + 120 * DAY, config).transitions).toEqual([]);
    expect(tick(s, T0 + 151 * DAY, config).transitions[0]).toMatchObject({ cause: 'lapsed', at: T0 + 150 * DAY });
  });

  it('does not restart the lapse clock on browsing', () => {
    const s = run([touch('c1', EVENTS.productViewed, T0 + 60 * DAY)], retained().state).state;
    expect(tick(s, T0 + 101 * DAY, config).transitions[0]).toMatchObject({ cause: 'lapsed', at: T0 + 100 * DAY });
  });

  it('settles a lapse before a returning touchpoint even if no tick ran, and the repeat purchase wins the customer back', () => {
    const r = run([touch('c1', EVENTS.orderCompleted, T0 + 120 * DAY)], retained().state);
    expect(moves(r.transitions)).toEqual(['retention→consideration', 'consideration→retention']);
    expect(r.transitions.map((t) => t.cause)).toEqual(['lapsed', 'rule:repeat-purchase']);
  });

  it('gives the same lapse whether tick ran often, once or never', () => {
    const s = retained().state;
    let often = s;
    const fromTicks: StageTransition[] = [];
    for (let d = 11; d <= 130; d++) {
      const t = tick(often, T0 + d * DAY, config);
      often = t.state;
      fromTicks.push(...t.transitions);
    }
    expect(fromTicks).toEqual(tick(s, T0 + 130 * DAY, config).transitions);
  });

  it('is idempotent', () => {
    const once = tick(retained().state, T0 + 200 * DAY, config);
    const twice = tick(once.state, T0 + 200 * DAY, config);
    expect(twice.transitions).toEqual([]);
    expect(twice.funnel).toEqual([]);
    expect(twice.state).toEqual(once.state);
  });

  it('does not lapse customers in other stages', () => {
    const s = run([touch('c1', EVENTS.productReviewed, T0 + 11 * DAY, { props: { rating: 5 } })], retained().state).state;
    expect(s.stage).toBe('advocacy');
    expect(tick(s, T0 + 400 * DAY, config).transitions).toEqual([]);
  });
});

describe('referral cycle', () => {
  const accept = (id: string, at: number, referrerId: string) => touch(id, EVENTS.referralAccepted, at, { props: { referrerId } });

  it("starts a referred person's journey at awareness with the referrer recorded", () => {
    const r = run([accept('new-1', T0, 'adv-1')]);
    expect(r.state).toMatchObject({ stage: 'awareness', journeyNumber: 1, referrerCustomerId: 'adv-1' });
    expect(r.transitions[0]).toMatchObject({ fromStage: null, toStage: 'awareness', referrerCustomerId: 'adv-1', cause: 'rule:referred-person-accepts-referral' });
  });

  it('starts journey 2 for someone whose journey already reached advocacy', () => {
    const advocate = run([touch('c1', EVENTS.productReviewed, T0 + 11 * DAY, { props: { rating: 5 } })], retained().state).state;
    const r = run([accept('c1', T0 + 20 * DAY, 'friend-7')], advocate);
    expect(r.transitions).toEqual([expect.objectContaining({ fromStage: 'advocacy', toStage: 'awareness', journeyNumber: 2, referrerCustomerId: 'friend-7' })]);
    expect(r.state).toMatchObject({ stage: 'awareness', furthestStage: 'awareness', journeyNumber: 2, previousStage: 'advocacy' });
    // The purchase history spans journeys: it is the customer's, not the journey's.
    expect(r.state.purchases.repeatCount).toBe(1);
  });

  it('does not pull back a journey in progress, only records the referrer', () => {
    const considering = run([touch('c1', EVENTS.productViewed, T0)]).state;
    const r = run([accept('c1', T0 + DAY, 'adv-2')], considering);
    expect(r.transitions).toEqual([]);
    expect(r.state).toMatchObject({ stage: 'consideration', journeyNumber: 1, referrerCustomerId: 'adv-2' });
  });

  it('treats a self-referral as an ordinary touchpoint', () => {
    const r = run([accept('c1', T0, 'c1')]);
    expect(r.state).toMatchObject({ stage: 'awareness', referrerCustomerId: null });
  });

  it("moves the advocate to advocacy when they send a referral", () => {
    const r = run([touch('adv-1', EVENTS.referralSent, T0 + 11 * DAY)], retained('adv-1').state);
    expect(moves(r.transitions)).toEqual(['retention→advocacy']);
  });
});
