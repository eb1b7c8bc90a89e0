-- Which customers were active, and which purchased, in each ISO week (weeks start on Monday): the
-- compact input of cohort retention, kept up to date from touchpoints. A purchase is an
-- 'Order Completed' or 'Contract Signed' event, or any touchpoint with revenue > 0 (renewals).
-- Both flags are max() aggregates, so a replayed touchpoint changes nothing.
-- ORDER BY (site, week, customer_id): cohort queries read one site's weeks and join on customer.
CREATE TABLE IF NOT EXISTS {db}.customer_activity_weekly{local} {on_cluster}
(
  site LowCardinality(String),
  week Date,
  customer_id String CODEC(ZSTD(1)),
  purchased SimpleAggregateFunction(max, UInt8),
  last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYear(week)
ORDER BY (site, week, customer_id)
SETTINGS non_replicated_deduplication_window = 10000;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.customer_activity_weekly {on_cluster} AS {db}.customer_activity_weekly_local
ENGINE = Distributed({cluster}, '{db}', 'customer_activity_weekly_local', cityHash64(customer_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.customer_activity_weekly_mv {on_cluster} TO {db}.customer_activity_weekly{local} AS
SELECT
  t.site AS site,
  toMonday(t.ts) AS week,
  t.customer_id AS customer_id,
  max(toUInt8(t.event IN ('Order Completed', 'Contract Signed') OR ifNull(t.revenue, 0) > 0)) AS purchased,
  max(t.ts) AS last_seen
FROM {db}.touchpoints{local} AS t
GROUP BY site, week, customer_id;
