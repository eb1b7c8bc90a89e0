import type { FunnelEvent } from '../../../schemas/journey.js';
import type { Touchpoint } from '../../../schemas/touchpoint.js';
import { cyrb53 } from '../core/hash.js';
import { IdentityGraph, linksFrom, primaryNode } from '../core/identity.js';
import { applyTouchpoint, tick } from '../stages/journey.js';
import { newJourneyState, type JourneyState } from '../stages/journey-state.js';
import { mergeJourneyStates } from '../stages/merge.js';
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
 * forward moves, windows, lapses; funnel.ts) and the merge rule (merge.ts), but none of the
 * streaming path: no arrival order, merge transfers, watermarks or state snapshots. Per person (as
 * they are now: `resolve`), touchpoints in event time (ties by messageId hash, as the sessions
 * batch), a messageId once. A touchpoint stamped after it was received counts at its receipt time,
 * as the streaming side takes it.
 *
 * Identity merges follow the pipeline's documented semantics (README, "Merges across partitions"
 * and Known limits), in event time: each id has a journey of its own until a touchpoint links it to
 * another (its ids, `linksFrom`; or, for a link no touchpoint's ids show, such as an email link or
 * an alias's previousId, the id it was written under: the router knew the link then), and at that
 * touchpoint's time the absorbed journey merges into the survivor's
 * (`mergeJourneyStates`: the more recently active stage, entries not counted again, one late
 * conversion), after both have settled what fell due before it. So a survivor's own first entry
 * and a conversion between two devices' journeys count as they do when the touchpoints stream in
 * event-time order, not as if the person had been one id from the start. Ids the final identity
 * table joins that no touchpoint links (an email link, an alias's previousId: not in the table)
 * merge after the person's last touchpoint.
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
    const graph = new IdentityGraph();
    const journeys = new Map<string, JourneyState>();
    // Rows are counted per person (as they are now), whichever of its ids emitted them.
    const expect = (rows: readonly FunnelEvent[]) => {
      for (const r of rows) expected.push(r.customerId === person ? r : { ...r, customerId: person });
    };
    /** The journey of `id` with what fell due before `at` settled (the watermark passed it first). */
    const settledAt = (id: string, at: number): JourneyState | null => {
      const state = journeys.get(id);
      if (state === undefined) return null;
      const step = tick(state, at, config);
      expect(step.funnel);
      return step.state;
    };
    const merge = (survivor: string, absorbed: string, at: number) => {
      const other = settledAt(absorbed, at);
      journeys.delete(absorbed);
      if (other === null) return;
      const merged = mergeJourneyStates(settledAt(survivor, at), other, survivor, config);
      expect(merged.funnel);
      journeys.set(survivor, merged.state);
    };
    // What the touchpoints' own ids link, at any time: a link only the written id shows is taken from there.
    const linked = new IdentityGraph();
    for (const { tp } of list) for (const link of linksFrom(tp)) linked.apply(link);
    for (const { writtenAs, tp } of list) {
      const own = primaryNode(tp);
      const links = linked.resolve(writtenAs) === linked.resolve(own) ? linksFrom(tp) : [{ a: writtenAs, b: own }, ...linksFrom(tp)];
      for (const link of links) {
        const result = graph.apply(link);
        if (result.merged) merge(result.survivor, result.absorbed, tp.timestamp);
      }
      // Whose it is at its own time: a touchpoint from before a link belongs to its own id's journey,
      // wherever arrival order put it.
      const customerId = graph.resolve(own);
      const step = applyTouchpoint(journeys.get(customerId) ?? newJourneyState(customerId), { customerId, accountId: tp.groupId, sessionId: '', late: false, touchpoint: tp }, rules, config);
      expect(step.funnel);
      journeys.set(customerId, step.state);
    }
    const last = list[list.length - 1]!.tp.timestamp;
    for (const id of [...journeys.keys()].sort()) if (id !== person && journeys.has(person)) merge(person, id, last);
    for (const state of journeys.values()) {
      const settled = tick(state, settledUntil, config);
      expect(settled.funnel);
      for (const r of tick(settled.state, Infinity, config).funnel) undecided.push({ ...r, customerId: person });
    }
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
