import type { ClickHouse } from './client.js';

/**
 * The refreshable materialized views that keep the dashboard's per-customer answers and attribution pre-aggregated
 * (docs/clickhouse.md, "Snapshots"): each recomputes its target table from the raw tables
 * on a schedule. Names without the database.
 */
export const SNAPSHOT_VIEWS = ['stage_counts_mv', 'churn_ranked_mv', 'cohort_retention_mv', 'attribution_hourly_mv', 'attribution_campaign_hourly_mv', 'attribution_conversions_hourly_mv'] as const;

export type SnapshotView = (typeof SNAPSHOT_VIEWS)[number];

/**
 * Recomputes the snapshots now and returns once each is swapped in: after an erase (so a forgotten
 * customer leaves the answers at once, not at the next scheduled refresh), and wherever rows were
 * just written and the answer must already include them (tests, the bench). Idempotent.
 * Single node: on a cluster, run `SYSTEM REFRESH VIEW` on every shard.
 */
export async function refreshSnapshots(ch: ClickHouse, views: readonly SnapshotView[] = SNAPSHOT_VIEWS): Promise<void> {
  for (const view of views) await ch.client.command({ query: `SYSTEM REFRESH VIEW ${ch.database}.${view}` });
  for (const view of views) await ch.client.command({ query: `SYSTEM WAIT VIEW ${ch.database}.${view}` });
}
