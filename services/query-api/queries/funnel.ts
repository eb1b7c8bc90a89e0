import { STAGES, type Stage } from '../../../schemas/journey.js';
import { and, dimensionConditions, rate, type DimensionFilter } from '../filters.js';
import type { Window } from '../params.js';
import type { QueryRunner } from '../runner.js';
import { MINUTE_WINDOW, iso, windowParams } from './window.js';

export interface FunnelStage {
  stage: Stage;
  /** Customers who entered the stage in the window. */
  entries: number;
  /** Customers who converted out of the stage (into a later one) in the window. */
  conversions: number;
  /** Customers whose conversion window at this stage expired in the window. */
  dropoffs: number;
  /** conversions / entries; null without entries. */
  conversionRate: number | null;
  /** entries of this stage / entries of the first stage; null without first-stage entries. */
  shareOfTop: number | null;
}

export interface FunnelResult {
  from: string;
  to: string;
  filters: DimensionFilter;
  stages: FunnelStage[];
  /** Customers who entered the purchase stage / customers who entered awareness. */
  overallConversionRate: number | null;
}

interface Row {
  kind: 'entry' | 'conversion' | 'dropoff';
  /** The stage the row is about: entered or dropped at, or converted out of. */
  step: string;
  customers: string | number;
}

/**
 * Customers per stage and outcome from funnel_minute. Counts are unique customers (uniq state), which
 * a replay cannot inflate, so the rates stay honest even if an insert was duplicated.
 */
export async function funnel(db: QueryRunner, w: Window, filter: DimensionFilter): Promise<FunnelResult> {
  const dims = dimensionConditions(filter);
  const rows = await db.rows<Row>(
    'funnel',
    `SELECT kind, if(kind = 'conversion', from_stage, toString(stage)) AS step, uniqMerge(customers) AS customers
FROM {db}.funnel_minute
WHERE ${and([MINUTE_WINDOW, ...dims.conditions])}
GROUP BY kind, step`,
    { ...windowParams(w), ...dims.params },
  );
  const count = (kind: Row['kind'], stage: Stage): number =>
    Number(rows.find((r) => r.kind === kind && r.step === stage)?.customers ?? 0);
  const top = count('entry', STAGES[0]);
  const stages = STAGES.map((stage): FunnelStage => {
    const entries = count('entry', stage);
    const conversions = count('conversion', stage);
    return {
      stage,
      entries,
      conversions,
      dropoffs: count('dropoff', stage),
      conversionRate: rate(conversions, entries),
      shareOfTop: rate(entries, top),
    };
  });
  return {
    from: iso(w.fromMs),
    to: iso(w.toMs),
    filters: filter,
    stages,
    overallConversionRate: rate(count('entry', 'purchase'), top),
  };
}
