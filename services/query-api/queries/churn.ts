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

/**
 * The riskiest customers by latest score, with reasons and the next best action: the first rows of
 * churn_ranked, the ranked snapshot of churn_scores FINAL (migration 022, refreshed every 30 s), and
 * how many are at or above minScore (a range of its sort key). `site` is the site of the customer's
 * newest transition (customer_stage); a customer without a journey is only in the all-sites list.
 */
export async function churn(db: QueryRunner, limit: number, minScore: number, site?: string): Promise<ChurnResult> {
  const where = `score >= {minScore:Float64}${site === undefined ? '' : ' AND site = {site:String}'}`;
  const rows = await db.rows<Row>(
    'churn',
    `SELECT customer_id, score, p_alive, reasons, next_action, stage, crossed_threshold,
  toUnixTimestamp64Milli(at) AS at_ms, (SELECT count() FROM {db}.churn_ranked WHERE ${where}) AS total
FROM {db}.churn_ranked
WHERE ${where}
ORDER BY -score, customer_id
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
