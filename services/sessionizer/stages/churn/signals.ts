import { z } from 'zod';
import { EVENTS, PAGE_PATHS } from '../../../../schemas/event-names.js';
import type { Touchpoint } from '../../../../schemas/touchpoint.js';
import { pagePath, pathHasPrefix, type LazyProperties } from '../touchpoint-facts.js';

const DAY_MS = 86_400_000;

/**
 * An exponentially decaying count: `n` as of time `at`. Adding and reading are O(1) and the value
 * at any later time is n·2^(−Δt/halfLife), so old trouble fades without keeping event lists.
 */
export const DecayingCount = z.object({ n: z.number().min(0), at: z.number() });
export type DecayingCount = z.infer<typeof DecayingCount>;

export const ZERO_COUNT: DecayingCount = { n: 0, at: 0 };

export function decayedValue(c: DecayingCount, now: number, halfLifeMs: number): number {
  if (c.n === 0) return 0;
  return c.n * Math.pow(2, -Math.max(0, now - c.at) / halfLifeMs);
}

function bump(c: DecayingCount, at: number, halfLifeMs: number, by = 1): DecayingCount {
  const t = Math.max(at, c.at);
  return { n: decayedValue(c, t, halfLifeMs) + by, at: t };
}

/** Counters the churn score reads; kept in the journey state and updated by every touchpoint. */
export const ChurnSignals = z.object({
  complaints: DecayingCount,
  lowFeedback: DecayingCount,
  paymentFailures: DecayingCount,
  cancellationIntent: DecayingCount,
  cancelled: DecayingCount,
  /** When the current cart was last added to; null when there is no open cart. */
  cartOpenedAt: z.number().nullable(),
  lastNps: z.number().nullable(),
  lastRating: z.number().nullable(),
  /** Engagement touchpoints per UTC day: [dayNumber, count], ascending, the last 42 days only. */
  activity: z.array(z.tuple([z.number().int(), z.number().int().min(0)])),
});
export type ChurnSignals = z.infer<typeof ChurnSignals>;

export const emptyChurnSignals = (): ChurnSignals => ({
  complaints: ZERO_COUNT,
  lowFeedback: ZERO_COUNT,
  paymentFailures: ZERO_COUNT,
  cancellationIntent: ZERO_COUNT,
  cancelled: ZERO_COUNT,
  cartOpenedAt: null,
  lastNps: null,
  lastRating: null,
  activity: [],
});

/** Falling engagement compares the last 14 days with the 28 before: 42 days of history is all it needs. */
export const ACTIVITY_DAYS_KEPT = 42;
export const dayNumber = (at: number): number => Math.floor(at / DAY_MS);

const ENGAGEMENT_CALLS = new Set(['track', 'page', 'screen']);

function numberProp(properties: Readonly<Record<string, unknown>>, key: string): number | null {
  const v = properties[key];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

export interface SignalInput {
  tp: Touchpoint;
  properties: LazyProperties;
  at: number;
  /** A stage rule flagged the touchpoint as a purchase. */
  isPurchase: boolean;
}

/**
 * A copy for the caller to change before anyone else sees it; field by field rather than a spread,
 * for the reason given at `copyJourney` (journey-state.ts).
 */
function copySignals(s: ChurnSignals): ChurnSignals {
  return {
    complaints: s.complaints,
    lowFeedback: s.lowFeedback,
    paymentFailures: s.paymentFailures,
    cancellationIntent: s.cancellationIntent,
    cancelled: s.cancelled,
    cartOpenedAt: s.cartOpenedAt,
    lastNps: s.lastNps,
    lastRating: s.lastRating,
    activity: s.activity,
  };
}

/** The signals after one touchpoint. Pure: returns a new object when anything changed, else `s`. */
export function recordSignals(s: ChurnSignals, input: SignalInput, halfLifeMs: number): ChurnSignals {
  const { tp, properties, at, isPurchase } = input;
  // `next` is this call's own copy: changing it keeps the function pure.
  const next = copySignals(s);
  let changed = false;

  if (ENGAGEMENT_CALLS.has(tp.type)) {
    next.activity = addActivity(s.activity, at);
    changed = true;
  }

  switch (tp.event) {
    case EVENTS.supportTicketOpened:
      next.complaints = bump(next.complaints, at, halfLifeMs);
      changed = true;
      break;
    case EVENTS.supportTicketResolved: {
      // A resolved case still says something went wrong, so it halves the weight rather than clearing it.
      const c = next.complaints;
      next.complaints = { n: decayedValue(c, at, halfLifeMs) / 2, at: Math.max(at, c.at) };
      changed = true;
      break;
    }
    case EVENTS.npsSubmitted: {
      const score = numberProp(properties.value, 'score');
      if (score !== null) {
        next.lastNps = score;
        if (score <= 6) next.lowFeedback = bump(next.lowFeedback, at, halfLifeMs);
        changed = true;
      }
      break;
    }
    case EVENTS.productReviewed: {
      const rating = numberProp(properties.value, 'rating');
      if (rating !== null) {
        next.lastRating = rating;
        if (rating <= 2) next.lowFeedback = bump(next.lowFeedback, at, halfLifeMs);
        changed = true;
      }
      break;
    }
    case EVENTS.paymentFailed:
      next.paymentFailures = bump(next.paymentFailures, at, halfLifeMs);
      changed = true;
      break;
    case EVENTS.subscriptionCancelled:
      next.cancelled = bump(next.cancelled, at, halfLifeMs);
      changed = true;
      break;
    case EVENTS.productAdded:
    case EVENTS.checkoutStarted:
      next.cartOpenedAt = at;
      changed = true;
      break;
  }
  // The path only matters for a page or screen call (read only then: it may parse the properties).
  if (tp.event === EVENTS.cancellationPageViewed || (tp.type !== 'track' && isCancelPage(pagePath(tp, properties)))) {
    next.cancellationIntent = bump(next.cancellationIntent, at, halfLifeMs);
    changed = true;
  }
  // Money changed hands: payment trouble, a cancellation and the open cart are settled.
  if (isPurchase) {
    next.paymentFailures = ZERO_COUNT;
    next.cancelled = ZERO_COUNT;
    next.cartOpenedAt = null;
    changed = true;
  }
  return changed ? next : s;
}

const isCancelPage = (path: string | null): boolean => path !== null && pathHasPrefix(path, PAGE_PATHS.cancel);

function addActivity(activity: ChurnSignals['activity'], at: number): ChurnSignals['activity'] {
  // Invariant: the journey never moves its clock backwards, so `at` falls on the newest day or later.
  const last = activity[activity.length - 1];
  const day = Math.max(dayNumber(at), last?.[0] ?? -Infinity);
  const kept = activity[0] !== undefined && activity[0][0] <= day - ACTIVITY_DAYS_KEPT ? activity.filter(([d]) => d > day - ACTIVITY_DAYS_KEPT) : activity.slice();
  const newest = kept[kept.length - 1];
  if (newest !== undefined && newest[0] === day) kept[kept.length - 1] = [day, newest[1] + 1];
  else kept.push([day, 1]);
  return kept;
}

/** Engagement touchpoints in the last 14 days and in the 28 days before them, as of `now`. */
export function engagementWindows(activity: ChurnSignals['activity'], now: number): { recent: number; prior: number } {
  const today = dayNumber(now);
  let recent = 0;
  let prior = 0;
  for (const [day, count] of activity) {
    const age = today - day; // 0 = today
    if (age < 0) continue;
    if (age < 14) recent += count;
    else if (age < 42) prior += count;
  }
  return { recent, prior };
}

/** Sums two customers' signals (identity merge); decayed counts are brought to a common time first. */
export function mergeSignals(a: ChurnSignals, b: ChurnSignals, halfLifeMs: number): ChurnSignals {
  const sum = (x: DecayingCount, y: DecayingCount): DecayingCount => {
    const at = Math.max(x.at, y.at);
    return { n: decayedValue(x, at, halfLifeMs) + decayedValue(y, at, halfLifeMs), at };
  };
  const days = new Map<number, number>();
  for (const [d, c] of [...a.activity, ...b.activity]) days.set(d, (days.get(d) ?? 0) + c);
  const newest = Math.max(-Infinity, ...days.keys());
  const activity = [...days.entries()]
    .filter(([d]) => d > newest - ACTIVITY_DAYS_KEPT)
    .sort((x, y) => x[0] - y[0]);
  const latest = <T>(x: T | null, xAt: number, y: T | null, yAt: number) => (x === null ? y : y === null ? x : yAt > xAt ? y : x);
  const aAt = a.activity.at(-1)?.[0] ?? -Infinity;
  const bAt = b.activity.at(-1)?.[0] ?? -Infinity;
  return {
    complaints: sum(a.complaints, b.complaints),
    lowFeedback: sum(a.lowFeedback, b.lowFeedback),
    paymentFailures: sum(a.paymentFailures, b.paymentFailures),
    cancellationIntent: sum(a.cancellationIntent, b.cancellationIntent),
    cancelled: sum(a.cancelled, b.cancelled),
    cartOpenedAt: a.cartOpenedAt === null ? b.cartOpenedAt : b.cartOpenedAt === null ? a.cartOpenedAt : Math.max(a.cartOpenedAt, b.cartOpenedAt),
    lastNps: latest(a.lastNps, aAt, b.lastNps, bAt),
    lastRating: latest(a.lastRating, aAt, b.lastRating, bAt),
    activity,
  };
}
