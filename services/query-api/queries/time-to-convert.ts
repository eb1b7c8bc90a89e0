import type { Stage } from '../../../schemas/journey.js';
import { and, dimensionConditions, type DimensionFilter } from '../filters.js';
import type { Window } from '../params.js';
import type { QueryRunner } from '../runner.js';
import { FUNNEL_AT_WINDOW, iso, windowParams } from './window.js';

/** Histogram bucket lower bounds in seconds; human-sized steps from a minute to a week. */
export const BUCKET_BOUNDS_S = [0, 60, 300, 900, 3_600, 21_600, 86_400, 259_200, 604_800] as const;
const LABELS = ['< 1 min', '1-5 min', '5-15 min', '15-60 min', '1-6 h', '6-24 h', '1-3 d', '3-7 d', '>= 7 d'];

export interface HistogramBucket {
  label: string;
  /** Inclusive lower bound, seconds. */
  fromSeconds: number;
  /** Exclusive upper bound, seconds; null for the last, open bucket. */
  toSeconds: number | null;
  conversions: number;
}

export interface TimeToConvertResult {
  from: string;
  to: string;
  fromStage: Stage | null;
  filters: DimensionFilter;
  conversions: number;
  /** Seconds; null without conversions. */
  quantiles: { p50: number | null; p75: number | null; p90: number | null; p95: number | null; p99: number | null };
  histogram: HistogramBucket[];
}

const QUANTILE_KEYS = ['p50', 'p75', 'p90', 'p95', 'p99'] as const;

/**
 * Quantiles and histogram from the raw funnel_events with FINAL, so a replayed conversion counts
 * once and both agree. (funnel_minute also keeps quantile states, for cheap long-range reads by data
 * teams, but those cannot tell a replay from a new event.)
 */
export async function timeToConvert(
  db: QueryRunner,
  w: Window,
  filter: DimensionFilter,
  fromStage?: Stage,
): Promise<TimeToConvertResult> {
  const dims = dimensionConditions(filter);
  const conditions = [FUNNEL_AT_WINDOW, "kind = 'conversion'", 'seconds_to_convert IS NOT NULL', ...dims.conditions];
  if (fromStage) conditions.push('from_stage = {fromStage:String}');
  const rows = await db.rows<{ q: (number | null)[]; buckets: [number[], (string | number)[]] }>(
    'time-to-convert',
    `SELECT quantiles(0.5, 0.75, 0.9, 0.95, 0.99)(s) AS q, sumMap([bucket], [toUInt64(1)]) AS buckets
FROM (
  SELECT assumeNotNull(seconds_to_convert) AS s, arrayCount(b -> s >= b, {bounds:Array(Float64)}) - 1 AS bucket
  FROM {db}.funnel_events FINAL
  WHERE ${and(conditions)}
)`,
    { ...windowParams(w), ...dims.params, bounds: [...BUCKET_BOUNDS_S], ...(fromStage ? { fromStage } : {}) },
  );
  const [keys, counts] = rows[0]?.buckets ?? [[], []];
  const histogram = BUCKET_BOUNDS_S.map((fromSeconds, i): HistogramBucket => {
    const at = keys.findIndex((k) => Number(k) === i);
    return {
      label: LABELS[i]!,
      fromSeconds,
      toSeconds: BUCKET_BOUNDS_S[i + 1] ?? null,
      conversions: at < 0 ? 0 : Number(counts[at]),
    };
  });
  const conversions = histogram.reduce((sum, b) => sum + b.conversions, 0);
  const q = rows[0]?.q ?? [];
  const quantiles = Object.fromEntries(
    QUANTILE_KEYS.map((k, i) => [k, conversions > 0 && q[i] != null && Number.isFinite(q[i]) ? round(q[i]!) : null]),
  ) as TimeToConvertResult['quantiles'];
  return { from: iso(w.fromMs), to: iso(w.toMs), fromStage: fromStage ?? null, filters: filter, conversions, quantiles, histogram };
}

const round = (x: number): number => Math.round(x * 10) / 10;
