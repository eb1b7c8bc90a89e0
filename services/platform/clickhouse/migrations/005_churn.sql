-- The latest churn score per customer: ReplacingMergeTree(at) keeps the newest score whatever the
-- order of arrival. ORDER BY customer_id: the risk list reads the whole (one row per customer)
-- table with FINAL, and data teams look customers up by id.
CREATE TABLE IF NOT EXISTS {db}.churn_scores{local} {on_cluster}
(
  customer_id String CODEC(ZSTD(1)),
  at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  score Float64,
  p_alive Float64,
  reasons Array(LowCardinality(String)),
  next_action LowCardinality(String),
  stage Nullable(Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5)),
  crossed_threshold Bool
)
ENGINE = ReplacingMergeTree(at)
ORDER BY customer_id
SETTINGS non_replicated_deduplication_window = 10000;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.churn_scores {on_cluster} AS {db}.churn_scores_local
ENGINE = Distributed({cluster}, '{db}', 'churn_scores_local', cityHash64(customer_id));

-- Every score ever computed, for trend lines and model evaluation; a replayed score collapses on
-- (customer_id, at). Kept 400 days so a year-over-year comparison fits.
CREATE TABLE IF NOT EXISTS {db}.churn_score_history{local} {on_cluster}
(
  customer_id String CODEC(ZSTD(1)),
  at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  score Float64,
  p_alive Float64,
  reasons Array(LowCardinality(String)),
  next_action LowCardinality(String),
  stage Nullable(Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5)),
  crossed_threshold Bool
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (customer_id, at)
TTL toDateTime(at) + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.churn_score_history {on_cluster} AS {db}.churn_score_history_local
ENGINE = Distributed({cluster}, '{db}', 'churn_score_history_local', cityHash64(customer_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.churn_score_history_mv {on_cluster} TO {db}.churn_score_history{local} AS
SELECT customer_id, at, score, p_alive, reasons, next_action, stage, crossed_threshold
FROM {db}.churn_scores{local};
