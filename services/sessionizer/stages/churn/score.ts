import type { ChurnScore } from '../../../../schemas/journey.js';
import { copyJourney, type JourneyState } from '../journey-state.js';
import type { StagesCoreConfig } from '../stages-config.js';
import { pAlive as bgnbdPAlive } from './bgnbd.js';
import type { BgNbdModel } from './bgnbd-params.js';
import { chooseNextAction, type ChurnPlaybook, type ChurnSignalName } from './playbook.js';
import { decayedValue, engagementWindows } from './signals.js';

/** What scoring needs besides the state: fitted BG/NBD parameters and the action playbook. */
export interface ChurnModel {
  bgnbd: BgNbdModel;
  playbook: ChurnPlaybook;
}

export interface ChurnContribution {
  signal: ChurnSignalName;
  /** How strongly the signal is present, 0..1. */
  strength: number;
  /** weight · strength: what it adds to the noisy-OR, and what reasons are ordered by. */
  contribution: number;
}

/** The numbers of an assessment; the reason texts are built only for scores that are emitted. */
interface ChurnMeasure {
  score: number;
  pAlive: number;
  /** Descending by contribution. */
  contributions: ChurnContribution[];
  activeSignals: ReadonlySet<ChurnSignalName>;
  nextAction: string;
}

export interface ChurnAssessment extends ChurnMeasure {
  /** Human-readable, ordered by contribution, at most `config.churn.maxReasons`. */
  reasons: string[];
}

const DAY_MS = 86_400_000;
/** Falling engagement needs some history to fall from: fewer prior touchpoints say nothing. */
const MIN_PRIOR_ACTIVITY = 4;
/** Contributions below this are noise, not reasons. */
const MIN_REASON_CONTRIBUTION = 0.01;

const days = (ms: number) => Math.round(ms / DAY_MS);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const saturate = (count: number) => 1 - Math.pow(2, -count); // 1 → ½, 2 → ¾: more evidence, more strength
const hasPurchases = (state: JourneyState) => state.purchases.firstAt !== null && state.purchases.lastAt !== null;

/**
 * The churn risk of a customer at time `at`:
 * - base: with a purchase history, 1 − P(alive) from BG/NBD; without one, the recency of activity
 *   (P(alive) is then the "still around" belief 2^(−silence/half-life));
 * - behaviour signals: silence (purchasers; it is already the base otherwise), support complaints,
 *   low NPS (≤ 6) or review (≤ 2), failed payment, cancellation-page visits, a cancelled
 *   subscription, falling engagement (last 14 days vs the 28 before) and an abandoned cart;
 * combined as a noisy-OR of weight·strength (weights in config.churn.weights).
 */
function measureChurn(state: JourneyState, at: number, model: ChurnModel, config: StagesCoreConfig): ChurnMeasure {
  const c = config.churn;
  const w = c.weights;
  const sig = state.signals;
  const silentMs = state.lastActivityAt === null ? 0 : Math.max(0, at - state.lastActivityAt);
  const stillAround = Math.pow(2, -silentMs / c.silenceHalfLifeMs);
  const parts: ChurnContribution[] = [];
  const add = (signal: ChurnSignalName, weight: number, strength: number) => {
    const s = Math.min(1, Math.max(0, strength));
    if (s > 0) parts.push({ signal, strength: s, contribution: weight * s });
  };

  let pAlive: number;
  const { firstAt, lastAt, repeatCount } = state.purchases;
  if (firstAt !== null && lastAt !== null) {
    const unit = model.bgnbd.timeUnitDays * DAY_MS;
    const T = Math.max(0, at - firstAt) / unit;
    const tx = Math.min(T, Math.max(0, lastAt - firstAt) / unit);
    pAlive = bgnbdPAlive(model.bgnbd, repeatCount, tx, T);
    add('lowPAlive', w.lowPAlive, 1 - pAlive);
    add('silence', w.silence, 1 - stillAround);
  } else {
    pAlive = stillAround;
    add('lowPAlive', w.lowPAlive, 1 - stillAround);
  }

  const h = c.signalHalfLifeMs;
  add('complaint', w.complaint, saturate(decayedValue(sig.complaints, at, h)));
  add('lowFeedback', w.lowFeedback, decayedValue(sig.lowFeedback, at, h));
  add('paymentFailed', w.paymentFailed, decayedValue(sig.paymentFailures, at, h));
  add('cancellationIntent', w.cancellationIntent, saturate(decayedValue(sig.cancellationIntent, at, h)));
  add('cancelled', w.cancelled, decayedValue(sig.cancelled, at, h));
  const { recent, prior } = engagementWindows(sig.activity, at);
  if (prior >= MIN_PRIOR_ACTIVITY) add('fallingEngagement', w.fallingEngagement, 1 - recent / 14 / (prior / 28));
  if (sig.cartOpenedAt !== null && at - sig.cartOpenedAt >= c.cartAbandonAfterMs) add('cartAbandoned', w.cartAbandoned, 1);

  parts.sort((x, y) => y.contribution - x.contribution); // stable: ties keep the order above
  let keep = 1;
  for (const p of parts) keep *= 1 - p.contribution;
  const score = Math.min(1, Math.max(0, 1 - keep));
  const activeSignals = new Set<ChurnSignalName>();
  for (const p of parts) if (p.strength >= c.activeSignalAt) activeSignals.add(p.signal);
  const nextAction = chooseNextAction(model.playbook, { score, stage: state.stage, activeSignals });
  return { score, pAlive: Math.min(1, Math.max(0, pAlive)), contributions: parts, activeSignals, nextAction };
}

/** The sentence a person reads for one contribution. */
function describe(c: ChurnContribution, state: JourneyState, at: number, pAlive: number, config: StagesCoreConfig): string {
  const sig = state.signals;
  const silentDays = days(state.lastActivityAt === null ? 0 : Math.max(0, at - state.lastActivityAt));
  const h = config.churn.signalHalfLifeMs;
  switch (c.signal) {
    case 'lowPAlive': {
      if (!hasPurchases(state)) return `no purchase yet and no activity for ${plural(silentDays, 'day')}`;
      const { repeatCount, lastAt } = state.purchases;
      return `P(alive) ${pAlive.toFixed(2)} from purchase history (${plural(repeatCount, 'repeat purchase')}, last ${plural(days(at - (lastAt ?? at)), 'day')} ago)`;
    }
    case 'silence':
      return `no activity for ${plural(silentDays, 'day')}`;
    case 'complaint':
      return plural(Math.max(1, Math.round(decayedValue(sig.complaints, at, h))), 'recent support complaint');
    case 'lowFeedback': {
      const which = [sig.lastNps !== null && sig.lastNps <= 6 ? `NPS ${sig.lastNps}` : null, sig.lastRating !== null && sig.lastRating <= 2 ? `${plural(sig.lastRating, 'star')} review` : null].filter((f) => f !== null);
      return `low feedback${which.length > 0 ? ` (${which.join(', ')})` : ''}`;
    }
    case 'paymentFailed':
      return 'payment failed';
    case 'cancellationIntent':
      return 'visited the cancellation page';
    case 'cancelled':
      return 'subscription cancelled';
    case 'fallingEngagement':
      return `activity down ${Math.round(c.strength * 100)}% (last 14 days vs the 28 before)`;
    case 'cartAbandoned': {
      const ms = at - (sig.cartOpenedAt ?? at);
      const hours = Math.round(ms / 3_600_000);
      return `cart abandoned ${hours < 48 ? plural(hours, 'hour') : plural(days(ms), 'day')} ago`;
    }
  }
}

function reasonsOf(m: ChurnMeasure, state: JourneyState, at: number, config: StagesCoreConfig): string[] {
  return m.contributions
    .filter((c) => c.contribution >= MIN_REASON_CONTRIBUTION)
    .slice(0, config.churn.maxReasons)
    .map((c) => describe(c, state, at, m.pAlive, config));
}

/** The full assessment, reasons included (see `measureChurn` for the model). */
export function assessChurn(state: JourneyState, at: number, model: ChurnModel, config: StagesCoreConfig): ChurnAssessment {
  const m = measureChurn(state, at, model, config);
  return { ...m, reasons: reasonsOf(m, state, at, config) };
}

export interface ChurnScoring {
  /**
   * The score when it is worth emitting — the first one, a threshold crossing, a move of at least
   * `minDelta`, or a different next action — else null.
   */
  churn: ChurnScore | null;
  /** The state with its churn memo updated: keep it whether or not a score was emitted. */
  state: JourneyState;
}

export function scoreChurn(state: JourneyState, at: number, model: ChurnModel, config: StagesCoreConfig): ChurnScoring {
  const m = measureChurn(state, at, model, config);
  const memo = state.churn;
  const { threshold, minDelta } = config.churn;
  const crossedThreshold = m.score >= threshold && (memo.emittedScore === null || memo.emittedScore < threshold);
  const emit = memo.emittedScore === null || crossedThreshold || Math.abs(m.score - memo.emittedScore) >= minDelta || m.nextAction !== memo.emittedAction;
  const next = copyJourney(state);
  if (!emit) {
    next.churn = { scoredAt: at, emittedScore: memo.emittedScore, emittedAction: memo.emittedAction, emittedAt: memo.emittedAt };
    return { churn: null, state: next };
  }
  const churn: ChurnScore = {
    customerId: state.customerId,
    at,
    score: m.score,
    pAlive: m.pAlive,
    reasons: reasonsOf(m, state, at, config),
    nextAction: m.nextAction,
    stage: state.stage,
    crossedThreshold,
  };
  next.churn = { scoredAt: at, emittedScore: m.score, emittedAction: m.nextAction, emittedAt: at };
  return { churn, state: next };
}

/**
 * When silence alone should be rescored: every `rescoreEveryMs` while the customer has been silent
 * for less than `rescoreForMs`, and when an open cart becomes abandoned. Null when nothing is due.
 */
export function churnDueAt(state: JourneyState, config: StagesCoreConfig): number | null {
  if (state.lastActivityAt === null) return null;
  const c = config.churn;
  const last = state.churn.scoredAt ?? state.lastActivityAt;
  let due: number | null = null;
  const periodic = last + c.rescoreEveryMs;
  if (periodic <= state.lastActivityAt + c.rescoreForMs) due = periodic;
  const cart = state.signals.cartOpenedAt;
  if (cart !== null) {
    const abandonedAt = cart + c.cartAbandonAfterMs;
    if (abandonedAt > last && (due === null || abandonedAt < due)) due = abandonedAt;
  }
  return due;
}
