import { STAGES, stageRank, type CustomerTouchpoint, type FunnelEvent, type Stage, type StageTransition } from '../../../schemas/journey.js';
import { recordSignals } from './churn/signals.js';
import { classify, type Classification } from './classify.js';
import { dropoffEvent, entryEvent, funnelEventsForChange, nextStage } from './funnel.js';
import { copyJourney, hasOwnEntry, hasPurchased, recordPurchase, type JourneyState } from './journey-state.js';
import type { StagesCoreConfig } from './stages-config.js';
import type { StageRules } from './stage-rules.js';
import { stableId } from './stable-id.js';
import { dimensionsOf, LazyProperties, type Dimensions } from './touchpoint-facts.js';

export { deriveAccountStage } from './account-stage.js';

/**
 * Journey rules (per customer):
 * - A touchpoint's stage comes from the first matching stage rule. The customer moves only
 *   FORWARD on a touchpoint, possibly several steps at once; a lower-stage touchpoint (a retained
 *   customer browsing products) leaves the stage alone.
 * - REGRESSION: a customer in a `config.lapse.from` stage (default: retention) with no touchpoint
 *   classified at purchase or beyond (repeat purchase, renewal, use, resolved case, advocacy) for
 *   `config.lapse.afterMs` (default 90 days) lapses to `config.lapse.to` (default consideration):
 *   retention is earned by continued engagement, and a lapsed customer must be won back. The
 *   transition is stamped at the lapse deadline, not at the tick, so tick cadence cannot change it.
 * - CYCLE: a rule with `referrerFrom` (default rules: Referral Accepted carrying `referrerId`)
 *   starts the referred person's journey at the rule's stage with `referrerCustomerId` recorded.
 *   Someone whose current journey already reached advocacy starts journey n+1; someone with a
 *   journey in progress keeps their stage (a referral is no reason to go backwards) and only gets
 *   the referrer recorded if none was. A self-referral is an ordinary touchpoint.
 * - TIME: the journey clock is the latest touchpoint time seen. A late touchpoint is applied at that
 *   clock, never before it, so stage entries stay ordered; windows and lapses due before a touchpoint
 *   are settled first (`tick` at the touchpoint's time), so results do not depend on tick cadence.
 */

export interface JourneyStep {
  state: JourneyState;
  transitions: StageTransition[];
  funnel: FunnelEvent[];
}

const PURCHASE_RANK = stageRank('purchase');
const LAST_STAGE = STAGES[STAGES.length - 1]!;
const UNKNOWN_DIMS: Dimensions = { site: '', channel: 'other', campaign: null, deviceType: 'other', segment: null };

export function applyTouchpoint(state: JourneyState, ctp: CustomerTouchpoint, rules: StageRules, config: StagesCoreConfig): JourneyStep {
  const tp = ctp.touchpoint;
  const at = state.lastActivityAt === null ? tp.timestamp : Math.max(tp.timestamp, state.lastActivityAt);
  const due = journeyDueAt(state, config);
  // Most touchpoints find nothing to settle: skip the allocation of an empty tick.
  const { state: settled, transitions, funnel } = due !== null && due <= at ? tick(state, at, config) : { state, transitions: [], funnel: [] };

  const properties = new LazyProperties(tp.properties);
  const hit = classify(rules, tp, { hasPurchased: hasPurchased(settled), properties });
  const dims = dimensionsOf(tp);
  const isPurchase = hit?.rule.purchase === true;
  // `s` is this call's own copy until it is returned: changing its fields keeps the function pure.
  const s = copyJourney(settled);
  s.accountId = ctp.accountId ?? settled.accountId;
  s.lastActivityAt = at;
  s.lastMessageId = tp.messageId;
  s.lastDims = dims;
  if (hit !== null && stageRank(hit.stage) >= PURCHASE_RANK) s.lastEngagedAt = at;
  if (isPurchase) s.purchases = recordPurchase(settled.purchases, at);
  s.signals = recordSignals(settled.signals, { tp, properties, at, isPurchase }, config.churn.signalHalfLifeMs);
  if (hit === null) return { state: s, transitions, funnel };

  const enter = (newJourney: boolean, referrer: string | null | undefined) =>
    enterStage(s, { to: hit.stage, at, cause: `rule:${hit.rule.name}`, messageId: tp.messageId, transitionId: stableId(tp.messageId, hit.stage), dims, newJourney, referrer }, config);

  const referrer = referrerOf(hit, properties, s.customerId);
  let step: JourneyStep | null = null;
  if (referrer !== null && (s.stage === null || s.furthestStage === LAST_STAGE)) step = enter(true, referrer);
  else if (s.stage === null) step = enter(true, undefined);
  else if (stageRank(hit.stage) > stageRank(s.stage)) step = enter(false, undefined);
  else if (referrer !== null && s.referrerCustomerId === null) s.referrerCustomerId = referrer;

  if (step === null) {
    // A survivor of an identity merge that inherited its stage: its first classified touchpoint is
    // still its own entry, the row it would have had if the absorbed state had arrived later.
    if (hasOwnEntry(s)) return { state: s, transitions, funnel };
    funnel.push(entryEvent(s.customerId, hit.stage, null, at, dims, tp.messageId));
    s.entered = true;
    return { state: s, transitions, funnel };
  }
  for (const t of step.transitions) transitions.push(t);
  for (const f of step.funnel) funnel.push(f);
  // enterStage returned a copy of its own: this call may still change it.
  step.state.entered = true;
  step.state.opened = s.stage === null ? true : s.opened;
  return { state: step.state, transitions, funnel };
}

function referrerOf(hit: Classification, properties: LazyProperties, customerId: string): string | null {
  if (hit.rule.referrerFrom === null) return null;
  const v = properties.value[hit.rule.referrerFrom];
  const id = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
  return id === '' || id === customerId ? null : id;
}

interface Entry {
  to: Stage;
  at: number;
  cause: string;
  messageId: string;
  transitionId: string;
  dims: Dimensions;
  /** Starts a journey: journeyNumber + 1 and the furthest stage starts over. */
  newJourney: boolean;
  /** A new referrer (undefined keeps the current one). */
  referrer?: string | null | undefined;
}

function enterStage(state: JourneyState, e: Entry, config: StagesCoreConfig): JourneyStep {
  const from = state.stage;
  const msInStage = state.msInStage.slice();
  if (from !== null && state.enteredAt !== null) msInStage[stageRank(from)]! += Math.max(0, e.at - state.enteredAt);
  const journeyNumber = e.newJourney ? state.journeyNumber + 1 : Math.max(1, state.journeyNumber);
  const furthestStage = e.newJourney || state.furthestStage === null || stageRank(e.to) > stageRank(state.furthestStage) ? e.to : state.furthestStage;
  const referrerCustomerId = e.referrer === undefined ? state.referrerCustomerId : e.referrer;
  const funnel = funnelEventsForChange({
    customerId: state.customerId,
    from,
    fromEnteredAt: state.enteredAt,
    fromDims: state.entryDims,
    windowOpen: state.conversionDeadline !== null && e.at <= state.conversionDeadline,
    to: e.to,
    at: e.at,
    dims: e.dims,
    causeId: e.messageId === '' ? e.transitionId : e.messageId,
  });
  const next = copyJourney(state);
  next.stage = e.to;
  next.enteredAt = e.at;
  next.previousStage = from;
  next.furthestStage = furthestStage;
  next.journeyNumber = journeyNumber;
  next.referrerCustomerId = referrerCustomerId;
  next.msInStage = msInStage;
  next.entryMessageId = e.messageId;
  next.entryDims = e.dims;
  next.conversionDeadline = nextStage(e.to) === null ? null : e.at + config.conversionWindowMs;
  const transition: StageTransition = {
    transitionId: e.transitionId,
    customerId: state.customerId,
    accountId: state.accountId,
    fromStage: from,
    toStage: e.to,
    at: e.at,
    cause: e.cause,
    messageId: e.messageId,
    site: e.dims.site,
    channel: e.dims.channel,
    campaign: e.dims.campaign,
    deviceType: e.dims.deviceType,
    segment: e.dims.segment,
    referrerCustomerId,
    journeyNumber,
  };
  return { state: next, transitions: [transition], funnel };
}

/** When the customer lapses if nothing happens, or null when their stage does not lapse. */
export function lapseDeadline(state: JourneyState, config: StagesCoreConfig): number | null {
  if (state.stage === null || state.enteredAt === null || state.stage === config.lapse.to) return null;
  if (!config.lapse.from.includes(state.stage)) return null;
  return Math.max(state.lastEngagedAt ?? state.enteredAt, state.enteredAt) + config.lapse.afterMs;
}

/**
 * Settles what time alone decides, up to `now`: expired conversion windows (dropoff) and lapses
 * (regression), in time order. Both fire strictly after their deadline. Pure and idempotent.
 */
export function tick(state: JourneyState, now: number, config: StagesCoreConfig): JourneyStep {
  const transitions: StageTransition[] = [];
  const funnel: FunnelEvent[] = [];
  let s = state;
  // Each pass settles one deadline and only a lapse opens a new one, so this ends quickly.
  for (;;) {
    const window = s.conversionDeadline !== null && s.conversionDeadline < now ? s.conversionDeadline : null;
    const lapseAt = lapseDeadline(s, config);
    const lapse = lapseAt !== null && lapseAt < now ? lapseAt : null;
    if (window !== null && (lapse === null || window <= lapse)) {
      if (s.stage !== null) funnel.push(dropoffEvent(s.customerId, s.stage, s.enteredAt ?? window, window, s.entryDims ?? s.lastDims ?? UNKNOWN_DIMS));
      s = copyJourney(s);
      s.conversionDeadline = null;
    } else if (lapse !== null) {
      const to = config.lapse.to;
      const step = enterStage(
        s,
        {
          to,
          at: lapse,
          cause: 'lapsed',
          messageId: s.lastMessageId ?? '',
          transitionId: stableId('lapsed', s.customerId, lapse, to),
          dims: s.lastDims ?? s.entryDims ?? UNKNOWN_DIMS,
          newJourney: false,
        },
        config,
      );
      transitions.push(...step.transitions);
      funnel.push(...step.funnel);
      s = step.state;
    } else break;
  }
  return { state: s, transitions, funnel };
}

/** The earliest time at which `tick` would change this state, or null when only a touchpoint can. */
export function journeyDueAt(state: JourneyState, config: StagesCoreConfig): number | null {
  const lapseAt = lapseDeadline(state, config);
  const window = state.conversionDeadline;
  const first = window === null ? lapseAt : lapseAt === null ? window : Math.min(window, lapseAt);
  // Deadlines fire strictly after they pass.
  return first === null ? null : first + 1;
}
