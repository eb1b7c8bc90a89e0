import type { Stage } from '../../../schemas/journey.js';
import type { QueryRunner } from '../runner.js';

export interface ChurnRisk {
  customerId: string;
  score: number;
  pAlive: number;
  reasons: string[];
  nextAction: string;
  stage: Stage | null;
  crossedThreshold: boolean;
  at: string;
}

export interface ChurnResult {
  minScore: number;
  site: string | null;
  /** Customers at or above minScore (the list is the top `limit` of them). */
  atRisk: number;
  customers: ChurnRisk[];
}

interface Row {
  customer_id: string;
  score: number;
  p_alive: number;
  reasons: string[];
  next_action: string;
  stage: Stage | null;
  crossed_threshold: boolean;
  at_ms: string | number;
  total: string | number;
}

/** The riskiest customers by latest score (churn_scores FINAL), with reasons and the next best action. */
export async function churn(db: QueryRunner, limit: number, minScore: number, site?: string): Promise<ChurnResult> {
  const siteCondition =
    site === undefined ? '' : 'AND c.customer_id IN (SELECT customer_id FROM {db}.customer_journey_latest WHERE site = {site:String})';
  const rows = await db.rows<Row>(
    'churn',
    `SELECT c.customer_id AS customer_id, c.score AS score, c.p_alive AS p_alive, c.reasons AS reasons,
  c.next_action AS next_action, c.stage AS stage, c.crossed_threshold AS crossed_threshold,
  toUnixTimestamp64Milli(c.at) AS at_ms, count() OVER () AS total
FROM {db}.churn_scores AS c FINAL
WHERE c.score >= {minScore:Float64} ${siteCondition}
ORDER BY c.score DESC, c.customer_id
LIMIT {limit:UInt32}`,
    { minScore, limit, ...(site === undefined ? {} : { site }) },
  );
  return {
    minScore,
    site: site ?? null,
    atRisk: Number(rows[0]?.total ?? 0),
    customers: rows.map((r) => ({
      customerId: r.customer_id,
      score: r.score,
      pAlive: r.p_alive,
      reasons: r.reasons,
      nextAction: r.next_action,
      stage: r.stage,
      crossedThreshold: Boolean(r.crossed_threshold),
      at: new Date(Number(r.at_ms)).toISOString(),
    })),
  };
}
