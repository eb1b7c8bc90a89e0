import { STAGES, type Stage } from '../../../schemas/journey.js';
import { and, rate } from '../filters.js';
import type { Window } from '../params.js';
import type { QueryRunner } from '../runner.js';
import { atWindow, iso, windowParams } from './window.js';

export interface CurrentStagesResult {
  site: string | null;
  customers: number;
  stages: { stage: Stage; customers: number; share: number | null }[];
}

/**
 * Where customers are now: customers per current stage from stage_counts, the per-(site, stage)
 * snapshot of customer_stage FINAL (migration 021, refreshed every 10 s), a few rows whatever the
 * number of customers.
 */
export async function currentStages(db: QueryRunner, site?: string): Promise<CurrentStagesResult> {
  const rows = await db.rows<{ stage: Stage; customers: string | number }>(
    'stages-current',
    `SELECT stage, sum(customers) AS customers
FROM {db}.stage_counts
WHERE ${site === undefined ? '1' : 'site = {site:String}'}
GROUP BY stage`,
    site === undefined ? {} : { site },
  );
  const total = rows.reduce((sum, r) => sum + Number(r.customers), 0);
  return {
    site: site ?? null,
    customers: total,
    stages: STAGES.map((stage) => {
      const customers = Number(rows.find((r) => r.stage === stage)?.customers ?? 0);
      return { stage, customers, share: rate(customers, total) };
    }),
  };
}

/** A journey's first stage has no source stage: its links start at this node. */
export const NEW_CUSTOMER = 'new';

export interface StageFlowLink {
  /** A stage, or `new` for a customer's first stage. */
  source: string;
  target: Stage;
  transitions: number;
  customers: number;
}

export interface StageFlowResult {
  from: string;
  to: string;
  site: string | null;
  links: StageFlowLink[];
}

/** Transitions between stages in the window, for a Sankey (sources on the left, targets on the right). */
export async function stageFlow(db: QueryRunner, w: Window, site?: string): Promise<StageFlowResult> {
  const conditions = [atWindow('at')];
  if (site !== undefined) conditions.push('site = {site:String}');
  const rows = await db.rows<{ source: string; target: Stage; transitions: string | number; customers: string | number }>(
    'stage-flow',
    `SELECT ifNull(toString(from_stage), '${NEW_CUSTOMER}') AS source, toString(to_stage) AS target,
  count() AS transitions, uniqExact(customer_id) AS customers
FROM {db}.stage_transitions FINAL
WHERE ${and(conditions)}
GROUP BY source, target
ORDER BY transitions DESC, source, target`,
    { ...windowParams(w), ...(site === undefined ? {} : { site }) },
  );
  return {
    from: iso(w.fromMs),
    to: iso(w.toMs),
    site: site ?? null,
    links: rows.map((r) => ({ source: r.source, target: r.target, transitions: Number(r.transitions), customers: Number(r.customers) })),
  };
}
