import type { FunnelEvent } from '../../../schemas/journey.js';
import type { Touchpoint } from '../../../schemas/touchpoint.js';
import { cyrb53 } from '../core/hash.js';
import { applyTouchpoint, tick } from '../stages/journey.js';
import { newJourneyState } from '../stages/journey-state.js';
import type { StagesCoreConfig } from '../stages/stages-config.js';
import type { StageRules } from '../stages/stage-rules.js';

/** A touchpoint as `verify` reads it from ClickHouse: the id it was written under, and the call itself. */
export interface WrittenTouchpoint {
  customerId: string;
  touchpoint: Touchpoint;
}

/** The funnel by the batch recomputation, split by what the streaming side must have emitted. */
export interface BatchFunnel {
  /** Rows the pipeline must hold: every touchpoint-driven row, and time-driven ones due before `settledUntil`. */
  expected: FunnelEvent[];
  /**
   * Time-driven rows (drop-offs, lapses and what follows from a lapse) due at or after
   * `settledUntil`: the pipeline may or may not have emitted them yet, so neither is a mismatch.
   */
  undecided: FunnelEvent[];
  /** Customers whose touchpoints were written under more than one id (stitched by a merge). */
  stitched: ReadonlySet<string>;
}

/**
 * The funnel recomputed in batch from the touchpoints, with the stage rules (journey.ts: classify,
 * forward moves, windows, lapses; funnel.ts), but none of the streaming path: no arrival order,
 * merge transfers, watermarks or state snapshots. Per customer as they are now (`resolve`: ids
 * merged since count under their survivor), one journey from no stage, touchpoints in event time
 * (ties by messageId hash, as the sessions batch), a messageId once. A touchpoint stamped after it
 * was received counts at its receipt time, as the streaming side takes it.
 *
 * Identity merges follow the rule README documents (Known limits): each id that wrote touchpoints
 * has its own first funnel entry, so a survivor's first classified touchpoint counts as an entry
 * even when the stage it inherited is the same.
 *
 * Time-driven rows: the streaming side settles a window or a lapse by a customer's own next
 * touchpoint (replayed here exactly) or by its partition's tick, at the watermark less the grace
 * period. `settledUntil` is the least such time the last tick can have had (see
 * `settledEventTime`): what falls due before it is expected, what falls due after is undecided.
 * Late touchpoints must be left out by the caller (README: late events are not placed exactly).
 */
export function recomputeFunnel(touchpoints: readonly WrittenTouchpoint[], resolve: (customerId: string) => string, rules: StageRules, config: StagesCoreConfig, settledUntil: number): BatchFunnel {
  const byCustomer = new Map<string, Array<{ writtenAs: string; tp: Touchpoint; hash: number }>>();
  const seen = new Set<string>();
  for (const { customerId, touchpoint } of touchpoints) {
    if (seen.has(touchpoint.messageId)) continue;
    seen.add(touchpoint.messageId);
    const at = Math.min(touchpoint.timestamp, touchpoint.receivedAt);
    const person = resolve(customerId);
    const list = byCustomer.get(person) ?? [];
    list.push({ writtenAs: customerId, tp: at === touchpoint.timestamp ? touchpoint : { ...touchpoint, timestamp: at }, hash: cyrb53(touchpoint.messageId) });
    byCustomer.set(person, list);
  }
  const expected: FunnelEvent[] = [];
  const undecided: FunnelEvent[] = [];
  const stitched = new Set<string>();
  for (const [person, list] of byCustomer) {
    if (list.some((t) => t.writtenAs !== list[0]!.writtenAs)) stitched.add(person);
    list.sort((a, b) => a.tp.timestamp - b.tp.timestamp || a.hash - b.hash);
    let state = newJourneyState(person);
    /** Ids that have had their own funnel entry (see above). */
    const entered = new Set<string>();
    for (const { writtenAs, tp } of list) {
      const step = applyTouchpoint({ ...state, entered: entered.has(writtenAs) }, { customerId: person, accountId: tp.groupId, sessionId: '', late: false, touchpoint: tp }, rules, config);
      if (step.state.entered === true) entered.add(writtenAs);
      expected.push(...step.funnel);
      state = step.state;
    }
    const settled = tick(state, settledUntil, config);
    expected.push(...settled.funnel);
    undecided.push(...tick(settled.state, Infinity, config).funnel);
  }
  return { expected, undecided, stitched };
}

/**
 * The event time up to which the streaming side has settled every window and lapse once it has
 * processed everything: a journey partition ticks at its watermark less the grace period, its
 * watermark is the least of its sources' (touchpoints partitions), and a source's watermark is the
 * latest event time it carried. A source that carried nothing moves with the wall clock and holds
 * nothing back. So: the least over sources of their latest event time, less the grace period. Every
 * journey partition reads every source, so this holds for each of them.
 */
export function settledEventTime(touchpoints: ReadonlyArray<{ source: number; timestamp: number }>, graceMs: number): number {
  const latest = new Map<number, number>();
  for (const t of touchpoints) latest.set(t.source, Math.max(latest.get(t.source) ?? -Infinity, t.timestamp));
  return latest.size === 0 ? -Infinity : Math.min(...latest.values()) - graceMs;
}
