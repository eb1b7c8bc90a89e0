import { STAGES, type Stage } from '../../../schemas/journey.js';
import { and, dimensionConditions, rate, type DimensionFilter } from '../filters.js';
import type { Window } from '../params.js';
import type { QueryRunner } from '../runner.js';
import { MINUTE_WINDOW, iso, windowParams } from './window.js';

export interface ConversionPoint {
  /** Bucket start, epoch ms. */
  t: number;
  conversions: number;
  dropoffs: number;
  /** conversions / (conversions + dropoffs); null for a bucket without decided outcomes. */
  rate: number | null;
}

export interface ConversionSeries {
  stage: Stage;
  conversions: number;
  dropoffs: number;
  rate: number | null;
  points: ConversionPoint[];
}

export interface ConversionOverTimeResult {
  from: string;
  to: string;
  bucket: 'minute' | 'hour';
  bucketMs: number;
  filters: DimensionFilter;
  series: ConversionSeries[];
}

interface Row {
  t: string | number;
  step: string;
  conversions: string | number;
  dropoffs: string | number;
}

/**
 * Conversion rate of each step per bucket. The rate is over outcomes decided in the bucket
 * (converted or dropped off), not over entries: recent entries have not had time to convert yet, so an
 * entry-based rate would always sag at the live edge of the chart.
 */
export async function conversionOverTime(
  db: QueryRunner,
  w: Window,
  filter: DimensionFilter,
  bucket: 'minute' | 'hour',
  bucketMs: number,
  stage?: Stage,
): Promise<ConversionOverTimeResult> {
  const dims = dimensionConditions(filter);
  const conditions = [MINUTE_WINDOW, "kind IN ('conversion', 'dropoff')", ...dims.conditions];
  if (stage) conditions.push('step = {stage:String}');
  const rows = await db.rows<Row>(
    'conversion-over-time',
    `SELECT toUnixTimestamp(toStartOfInterval(minute, toIntervalMinute({bucketMinutes:UInt32}))) * 1000 AS t,
  if(kind = 'conversion', from_stage, toString(stage)) AS step,
  uniqMergeIf(customers, kind = 'conversion') AS conversions,
  uniqMergeIf(customers, kind = 'dropoff') AS dropoffs
FROM {db}.funnel_minute
WHERE ${and(conditions)}
GROUP BY t, step`,
    { ...windowParams(w), ...dims.params, bucketMinutes: bucketMs / 60_000, ...(stage ? { stage } : {}) },
  );
  const first = Math.floor(w.fromMs / bucketMs) * bucketMs;
  const stages = stage ? [stage] : STAGES;
  const series = stages.map((s): ConversionSeries => {
    const mine = new Map(rows.filter((r) => r.step === s).map((r) => [Number(r.t), r]));
    const points: ConversionPoint[] = [];
    let conversions = 0;
    let dropoffs = 0;
    for (let t = first; t < w.toMs; t += bucketMs) {
      const r = mine.get(t);
      const c = Number(r?.conversions ?? 0);
      const d = Number(r?.dropoffs ?? 0);
      conversions += c;
      dropoffs += d;
      points.push({ t, conversions: c, dropoffs: d, rate: rate(c, c + d) });
    }
    return { stage: s, conversions, dropoffs, rate: rate(conversions, conversions + dropoffs), points };
  });
  return { from: iso(w.fromMs), to: iso(w.toMs), bucket, bucketMs, filters: filter, series };
}
