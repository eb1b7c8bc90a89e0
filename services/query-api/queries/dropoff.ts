import { STAGES, type Stage } from '../../../schemas/journey.js';
import { and, dimensionConditions, rate, type DimensionFilter } from '../filters.js';
import type { Window } from '../params.js';
import type { QueryRunner } from '../runner.js';
import { MINUTE_WINDOW, iso, windowParams } from './window.js';

export const BREAKDOWN_DIMENSIONS = ['channel', 'device_type', 'campaign'] as const;
export type BreakdownDimension = (typeof BREAKDOWN_DIMENSIONS)[number];

export interface Outcomes {
  entries: number;
  conversions: number;
  dropoffs: number;
  /** dropoffs / (dropoffs + conversions): of the outcomes decided in the window, the share lost. */
  dropoffRate: number | null;
}

export interface BreakdownValue extends Outcomes {
  /** null: the dimension was empty on those events (no campaign). */
  value: string | null;
  /** Drop-offs beyond what the step's overall rate predicts for this value's outcomes. */
  excessDropoffs: number;
}

export interface Explanation {
  dimension: BreakdownDimension;
  value: string | null;
  excessDropoffs: number;
  dropoffRate: number | null;
  stepDropoffRate: number | null;
}

export interface DropoffStep extends Outcomes {
  stage: Stage;
  breakdown: Record<BreakdownDimension, BreakdownValue[]>;
  /** The dimension value that lost the most customers beyond the step's average; null if none did. */
  explanation: Explanation | null;
}

export interface DropoffResult {
  from: string;
  to: string;
  filters: DimensionFilter;
  steps: DropoffStep[];
}

interface Row {
  step: string;
  channel: string;
  device_type: string;
  campaign: string;
  set_id: number;
  entries: string | number;
  conversions: string | number;
  dropoffs: string | number;
}

const TOP_VALUES = 8;

/**
 * Drop-off per step, with one GROUPING SETS pass giving the step totals and the breakdown by
 * channel, device type and campaign (unique customers per outcome).
 */
export async function dropoff(db: QueryRunner, w: Window, filter: DimensionFilter, stage?: Stage): Promise<DropoffResult> {
  const dims = dimensionConditions(filter);
  const conditions = [MINUTE_WINDOW, ...dims.conditions];
  if (stage) conditions.push('step = {stage:String}');
  const rows = await db.rows<Row>(
    'dropoff',
    `SELECT
  if(kind = 'conversion', from_stage, toString(stage)) AS step,
  channel, device_type, campaign,
  grouping(channel, device_type, campaign) AS set_id,
  uniqMergeIf(customers, kind = 'entry') AS entries,
  uniqMergeIf(customers, kind = 'conversion') AS conversions,
  uniqMergeIf(customers, kind = 'dropoff') AS dropoffs
FROM {db}.funnel_minute
WHERE ${and(conditions)}
GROUP BY GROUPING SETS ((step), (step, channel), (step, device_type), (step, campaign))`,
    { ...windowParams(w), ...dims.params, ...(stage ? { stage } : {}) },
  );
  const stages = stage ? [stage] : STAGES;
  return { from: iso(w.fromMs), to: iso(w.toMs), filters: filter, steps: stages.map((s) => stepOf(s, rows)) };
}

/** grouping(channel, device_type, campaign): a bit mask with a 1 for each column NOT in the grouping set. */
const SET_ID: Record<BreakdownDimension | 'total', number> = { total: 0b111, channel: 0b011, device_type: 0b101, campaign: 0b110 };

function outcomes(r: Row | undefined): Outcomes {
  const entries = Number(r?.entries ?? 0);
  const conversions = Number(r?.conversions ?? 0);
  const dropoffs = Number(r?.dropoffs ?? 0);
  return { entries, conversions, dropoffs, dropoffRate: rate(dropoffs, dropoffs + conversions) };
}

function stepOf(stage: Stage, rows: Row[]): DropoffStep {
  const mine = rows.filter((r) => r.step === stage);
  const total = outcomes(mine.find((r) => Number(r.set_id) === SET_ID.total));
  const stepRate = total.dropoffRate ?? 0;
  const breakdown = {} as Record<BreakdownDimension, BreakdownValue[]>;
  let explanation: Explanation | null = null;
  for (const dimension of BREAKDOWN_DIMENSIONS) {
    const values = mine
      .filter((r) => Number(r.set_id) === SET_ID[dimension])
      .map((r): BreakdownValue => {
        const o = outcomes(r);
        const excessDropoffs = o.dropoffs - (o.dropoffs + o.conversions) * stepRate;
        return { value: r[dimension] === '' ? null : r[dimension], ...o, excessDropoffs: round(excessDropoffs) };
      })
      .sort((a, b) => b.excessDropoffs - a.excessDropoffs || b.dropoffs - a.dropoffs)
      .slice(0, TOP_VALUES);
    breakdown[dimension] = values;
    const worst = values[0];
    if (worst && worst.excessDropoffs > 0 && (!explanation || worst.excessDropoffs > explanation.excessDropoffs)) {
      explanation = {
        dimension,
        value: worst.value,
        excessDropoffs: worst.excessDropoffs,
        dropoffRate: worst.dropoffRate,
        stepDropoffRate: total.dropoffRate,
      };
    }
  }
  return { stage, ...total, breakdown, explanation };
}

const round = (x: number): number => Math.round(x * 100) / 100;
