import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENTS } from '../../../schemas/event-names.js';
import { STAGES, type CustomerTouchpoint, type FunnelEvent } from '../../../schemas/journey.js';
import { DAY, HOUR, loadShippedStageRules, pageView, T0, touch } from './testing.js';
import { applyTouchpoint, tick } from './journey.js';
import { newJourneyState, type JourneyState } from './journey-state.js';
import { defaultStagesCoreConfig } from './stages-config.js';

const rules = loadShippedStageRules('ecommerce.yaml');
const config = defaultStagesCoreConfig();

function run(touchpoints: CustomerTouchpoint[], state: JourneyState = newJourneyState('c1')): { state: JourneyState; funnel: FunnelEvent[] } {
  let s = state;
  const funnel: FunnelEvent[] = [];
  for (const ctp of touchpoints) {
    const step = applyTouchpoint(s, ctp, rules, config);
    s = step.state;
    funnel.push(...step.funnel);
  }
  return { state: s, funnel };
}

const kinds = (events: FunnelEvent[]) => events.map((e) => `${e.kind}:${e.fromStage ?? '∅'}→${e.stage}`);

describe('funnel events', () => {
  it('emits an entry with the dimensions of the touchpoint that caused it', () => {
    const { funnel } = run([touch('c1', EVENTS.adClicked, T0, { site: 'shop-de', channel: 'ads', utmCampaign: 'spring', deviceType: 'mobile', segment: 'vip' })]);
    expect(funnel).toEqual([
      expect.objectContaining({ kind: 'entry', stage: 'awareness', fromStage: null, at: T0, customerId: 'c1', site: 'shop-de', channel: 'ads', campaign: 'spring', deviceType: 'mobile', segment: 'vip', secondsToConvert: null }),
    ]);
  });

  it('counts a move to the next stage within the window as a conversion, labelled by the entry it converts', () => {
    const { funnel } = run([touch('c1', EVENTS.adClicked, T0, { utmCampaign: 'spring' }), touch('c1', EVENTS.productViewed, T0 + 3 * DAY, { utmCampaign: null, channel: 'email' })]);
    expect(kinds(funnel)).toEqual(['entry:∅→awareness', 'conversion:awareness→consideration', 'entry:awareness→consideration']);
    expect(funnel[1]).toMatchObject({ secondsToConvert: 3 * 86_400, campaign: 'spring', channel: 'web', at: T0 + 3 * DAY });
    expect(funnel[2]).toMatchObject({ campaign: null, channel: 'email' });
  });

  it('counts a move exactly at the end of the window as a conversion', () => {
    const { funnel } = run([touch('c1', EVENTS.adClicked, T0), touch('c1', EVENTS.productViewed, T0 + 7 * DAY)]);
    expect(kinds(funnel)).toContain('conversion:awareness→consideration');
  });

  it('counts a move after the window as a dropoff at the deadline and a plain entry', () => {
    const { funnel } = run([touch('c1', EVENTS.adClicked, T0, { utmCampaign: 'spring' }), touch('c1', EVENTS.productViewed, T0 + 8 * DAY)]);
    expect(kinds(funnel)).toEqual(['entry:∅→awareness', 'dropoff:∅→awareness', 'entry:awareness→consideration']);
    expect(funnel[1]).toMatchObject({ at: T0 + 7 * DAY, campaign: 'spring', secondsToConvert: null });
  });

  it('emits a dropoff from tick once the window has expired, exactly once', () => {
    const s = run([pageView('c1', '/pricing', T0)]).state;
    expect(tick(s, T0 + 7 * DAY, config).funnel).toEqual([]);
    const t = tick(s, T0 + 7 * DAY + 1, config);
    expect(kinds(t.funnel)).toEqual(['dropoff:∅→consideration']);
    expect(tick(t.state, T0 + 30 * DAY, config).funnel).toEqual([]);
    // A later conversion no longer counts: the entry was settled as a dropoff.
    const later = run([touch('c1', EVENTS.orderCompleted, T0 + 9 * DAY)], t.state);
    expect(kinds(later.funnel)).toEqual(['entry:consideration→purchase']);
  });

  it('gives the same dropoff id whether tick or the next touchpoint settles the window', () => {
    const s = run([touch('c1', EVENTS.adClicked, T0)]).state;
    const byTick = tick(s, T0 + 8 * DAY, config).funnel[0];
    const byTouchpoint = run([touch('c1', EVENTS.productViewed, T0 + 8 * DAY)], s).funnel[0];
    expect(byTick?.eventId).toBe(byTouchpoint?.eventId);
  });

  it('passes a multi-step jump through the skipped stages', () => {
    const { funnel } = run([touch('c1', EVENTS.adClicked, T0), touch('c1', EVENTS.orderCompleted, T0 + 2 * HOUR)]);
    expect(kinds(funnel)).toEqual([
      'entry:∅→awareness',
      'conversion:awareness→consideration',
      'entry:awareness→consideration',
      'conversion:consideration→purchase',
      'entry:consideration→purchase',
    ]);
    expect(funnel[1]?.secondsToConvert).toBe(7200);
    expect(funnel[3]?.secondsToConvert).toBe(0);
  });

  it('enters a first-seen buyer at purchase only: no invented history', () => {
    expect(kinds(run([touch('c1', EVENTS.orderCompleted, T0)]).funnel)).toEqual(['entry:∅→purchase']);
  });

  it('opens no window at advocacy, the last stage', () => {
    const { state } = run([touch('c1', EVENTS.orderCompleted, T0), touch('c1', EVENTS.productShared, T0 + DAY)]);
    expect(state.stage).toBe('advocacy');
    expect(state.conversionDeadline).toBeNull();
    expect(tick(state, T0 + 60 * DAY, config).funnel).toEqual([]);
  });

  it('uses a configurable window', () => {
    const short = { ...config, conversionWindowMs: HOUR };
    const s = applyTouchpoint(newJourneyState('c1'), touch('c1', EVENTS.adClicked, T0), rules, short).state;
    const step = applyTouchpoint(s, touch('c1', EVENTS.productViewed, T0 + 2 * HOUR), rules, short);
    expect(kinds(step.funnel)).toEqual(['dropoff:∅→awareness', 'entry:awareness→consideration']);
  });
});

// Random journeys: a mix of stage-bearing touchpoints at random gaps, with random ticks in between.
const EVENT_POOL = [EVENTS.adClicked, EVENTS.productViewed, EVENTS.productAdded, EVENTS.orderCompleted, EVENTS.featureUsed, EVENTS.productShared, EVENTS.referralAccepted, 'Page'];
const journeyArb = fc.array(fc.record({ event: fc.constantFrom(...EVENT_POOL), gapHours: fc.integer({ min: 0, max: 24 * 120 }), tickBefore: fc.boolean() }), { maxLength: 30 });

function toTouchpoints(steps: { event: string; gapHours: number }[]): CustomerTouchpoint[] {
  let at = T0;
  return steps.map(({ event, gapHours }, i) => {
    at += gapHours * HOUR;
    if (event === 'Page') return pageView('c1', '/', at);
    return touch('c1', event, at, { messageId: `m${i}`, props: event === EVENTS.referralAccepted ? { referrerId: 'adv' } : {} });
  });
}

describe('funnel invariants (property)', () => {
  it('never converts out of a stage more often than it was entered, and settles each entry at most once', () => {
    fc.assert(
      fc.property(journeyArb, (steps) => {
        const { state, funnel } = run(toTouchpoints(steps));
        const all = [...funnel, ...tick(state, T0 + 10_000 * DAY, config).funnel];
        for (const stage of STAGES) {
          const entries = all.filter((e) => e.kind === 'entry' && e.stage === stage).length;
          const settled = all.filter((e) => (e.kind === 'conversion' && e.fromStage === stage) || (e.kind === 'dropoff' && e.stage === stage)).length;
          expect(settled).toBeLessThanOrEqual(entries);
        }
        expect(new Set(all.map((e) => e.eventId)).size).toBe(all.length);
      }),
    );
  });

  it('produces the same events whatever the tick cadence', () => {
    fc.assert(
      fc.property(journeyArb, (steps) => {
        const tps = toTouchpoints(steps);
        const end = (tps.at(-1)?.touchpoint.timestamp ?? T0) + 400 * DAY;
        const plain = run(tps);
        const plainAll = [...plain.funnel, ...tick(plain.state, end, config).funnel];

        let s = newJourneyState('c1');
        const ticked: FunnelEvent[] = [];
        tps.forEach((ctp, i) => {
          if (steps[i]!.tickBefore) {
            const t = tick(s, ctp.touchpoint.timestamp, config);
            s = t.state;
            ticked.push(...t.funnel);
          }
          const step = applyTouchpoint(s, ctp, rules, config);
          s = step.state;
          ticked.push(...step.funnel);
        });
        ticked.push(...tick(s, end, config).funnel);
        expect(ticked).toEqual(plainAll);
      }),
    );
  });
});
