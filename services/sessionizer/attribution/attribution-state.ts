/**
 * What the journey step keeps per customer to attribute its conversions as they happen
 * (services/platform/attribution/heuristic.ts computes the credit): a bounded list of the
 * customer's recent touches and of its recent conversions, so that a late touch or an identity
 * merge can re-attribute a conversion already attributed.
 *
 * Invariants (what makes a correction exact and its version grow):
 * - `touches` is sorted by (at, messageId), one per messageId, at most `maxTouches`;
 * - every kept conversion's lookback window is complete: no touch inside it was ever dropped. Touches
 *   are dropped by age only below `clock − lookback − correction`, below every kept conversion's
 *   window; when the count bound drops the earliest touch, the kept conversions whose window held
 *   it are dropped too (their rows stay as last emitted, no longer corrected);
 * - so a kept conversion's window only ever gains touches, and the touch count is its version.
 */
export interface StoredTouch {
  messageId: string;
  /** Event time, epoch ms. */
  at: number;
  channel: string;
  campaign: string | null;
  site: string;
}

export interface KeptConversion {
  /** The conversion touchpoint's messageId. */
  id: string;
  at: number;
  revenue: number | null;
  site: string;
  /** The customer id its rows were first written under (an absorbed id's conversion keeps its id: same shard, same rows). */
  customerId: string;
}

export interface AttributionState {
  /** The customer's event-time clock: the newest touch or conversion time seen (capped at its receipt). */
  clock: number;
  touches: StoredTouch[];
  conversions: KeptConversion[];
}

export interface AttributionLimits {
  lookbackMs: number;
  /** How far behind the customer's clock a conversion is still corrected (its touches are kept that much longer). */
  correctionMs: number;
  maxTouches: number;
  maxConversions: number;
}

export const emptyAttributionState = (): AttributionState => ({ clock: -Infinity, touches: [], conversions: [] });

const before = (a: StoredTouch, b: StoredTouch): boolean => a.at < b.at || (a.at === b.at && a.messageId < b.messageId);

/** Inserts in order (usually at the end: touches come mostly in time order); false when the messageId is there already. */
export function insertTouch(touches: StoredTouch[], touch: StoredTouch): boolean {
  let i = touches.length;
  while (i > 0 && before(touch, touches[i - 1]!)) i--;
  // Same messageId: at the same time it sits right before; at another time (a replayed id), scan.
  for (const t of touches) if (t.messageId === touch.messageId) return false;
  touches.splice(i, 0, touch);
  return true;
}

/** What pruning dropped: touches (by age or by the bound) and conversions no longer corrected. */
export interface Pruned {
  touchesByAge: number;
  touchesByBound: number;
  conversionsFrozen: number;
}

/**
 * Applies the age and count bounds in place. Conversions older than `clock − correction` (or past
 * `maxConversions`, the oldest first) are no longer corrected; touches older than every window that
 * can still be attributed exactly go; over `maxTouches` the earliest go, and with each the kept
 * conversions whose window held it.
 */
export function prune(state: AttributionState, limits: AttributionLimits): Pruned {
  const out: Pruned = { touchesByAge: 0, touchesByBound: 0, conversionsFrozen: 0 };
  const horizon = state.clock - limits.correctionMs;
  // Most customers keep no conversion: nothing to allocate for them on every touch.
  if (state.conversions.length > 0) {
    const keep = state.conversions.filter((c) => c.at >= horizon);
    keep.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const excess = Math.max(0, keep.length - limits.maxConversions);
    out.conversionsFrozen += state.conversions.length - keep.length + excess;
    state.conversions = excess > 0 ? keep.slice(excess) : keep;
  }
  const oldest = horizon - limits.lookbackMs;
  let drop = 0;
  while (drop < state.touches.length && state.touches[drop]!.at < oldest) drop++;
  out.touchesByAge = drop;
  const overBound = Math.max(0, state.touches.length - drop - limits.maxTouches);
  if (overBound > 0) {
    out.touchesByBound = overBound;
    drop += overBound;
    const lastDropped = state.touches[drop - 1]!.at;
    const before = state.conversions.length;
    state.conversions = state.conversions.filter((c) => c.at - limits.lookbackMs > lastDropped);
    out.conversionsFrozen += before - state.conversions.length;
  }
  if (drop > 0) state.touches = state.touches.slice(drop);
  return out;
}
