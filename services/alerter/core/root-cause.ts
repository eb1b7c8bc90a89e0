import type { BreakdownDimension } from './monitors.js';

/** One breakdown value in the window being explained, with what the baseline says it should have had. */
export interface SegmentOutcome {
  readonly dimension: BreakdownDimension;
  readonly value: string;
  /** Traffic weight: trials (conversion) or expected events (volume). */
  readonly weight: number;
  readonly observed: number;
  readonly expected: number;
}

export interface RootCause {
  readonly dimension: BreakdownDimension;
  readonly value: string;
  /** Share of the dimension's lost conversions (or missing events) this value accounts for. */
  readonly lostShare: number;
  /** Share of the dimension's traffic this value has. */
  readonly trafficShare: number;
}

/**
 * A value only explains a drop when it loses clearly more than its share of traffic: with a uniform
 * drop every value loses in proportion and naming the biggest one would mislead.
 */
const MIN_EXCESS_SHARE = 0.15;
const MIN_LOST_SHARE = 0.25;

/** The breakdown value whose loss is most out of proportion to its traffic, or null when the drop is spread evenly. */
export function findRootCause(segments: readonly SegmentOutcome[]): RootCause | null {
  const byDimension = new Map<BreakdownDimension, SegmentOutcome[]>();
  for (const s of segments) byDimension.set(s.dimension, [...(byDimension.get(s.dimension) ?? []), s]);
  let best: (RootCause & { excess: number }) | null = null;
  for (const [dimension, values] of [...byDimension].sort(([a], [b]) => a.localeCompare(b))) {
    const totalLost = values.reduce((acc, s) => acc + Math.max(0, s.expected - s.observed), 0);
    const totalWeight = values.reduce((acc, s) => acc + s.weight, 0);
    if (totalLost <= 0 || totalWeight <= 0) continue;
    for (const s of [...values].sort((a, b) => a.value.localeCompare(b.value))) {
      const lostShare = Math.max(0, s.expected - s.observed) / totalLost;
      const trafficShare = s.weight / totalWeight;
      const excess = lostShare - trafficShare;
      if (lostShare < MIN_LOST_SHARE || excess < MIN_EXCESS_SHARE) continue;
      if (best === null || excess > best.excess) best = { dimension, value: s.value, lostShare, trafficShare, excess };
    }
  }
  return best === null ? null : { dimension: best.dimension, value: best.value, lostShare: best.lostShare, trafficShare: best.trafficShare };
}

const percent = (x: number) => `${Math.round(x * 100)}%`;

/** e.g. "deviceType=mobile accounts for 83% of lost conversions (41% of traffic)". */
export function describeRootCause(cause: RootCause, measure: 'rate' | 'count'): string {
  const what = measure === 'rate' ? 'lost conversions' : 'missing events';
  return `${cause.dimension}=${cause.value} accounts for ${percent(cause.lostShare)} of ${what} (${percent(cause.trafficShare)} of traffic)`;
}
