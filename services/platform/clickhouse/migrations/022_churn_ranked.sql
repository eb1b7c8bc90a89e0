-- The churn risk list (/api/churn): every customer's newest score, ranked highest first, with the
-- site of the customer's newest transition (NULL without one). The list is the first rows of the sort
-- key and "how many are at risk" a range of it, where churn_scores FINAL had to collapse every
-- customer's versions and sort them all at read time (819 ms p95 at 1 M customers, loaded machine).
--
-- A snapshot, recomputed from churn_scores FINAL and customer_stage (021) every 30 s by a refreshable
-- materialized view and swapped in whole, for the reasons of 021_stage_counts.sql (and at the same
-- low priority): a re-scored customer's new score replaces the old one only in a table keyed by
-- customer, and a table ranked by score cannot be kept by inserts alone (the old score's row would
-- stay). Exact as of the last refresh, replays and merges included; an erase refreshes it at once.
-- Each refresh rewrites one row per customer (0.85 s at 1 M customers, load 9: every 30 s, not
-- 10, to keep that under 3% of a core).
-- ORDER BY (-score, customer_id): the API's order (score DESC, customer_id), read in order.
-- On a cluster each shard ranks its own customers; the Distributed table merges the shards' tops.
CREATE TABLE IF NOT EXISTS {db}.churn_ranked{local} {on_cluster}
(
  customer_id String CODEC(ZSTD(1)),
  site LowCardinality(Nullable(String)),
  at DateTime64(3, 'UTC'),
  score Float64,
  p_alive Float64,
  reasons Array(LowCardinality(String)),
  next_action LowCardinality(String),
  stage Nullable(Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5)),
  crossed_threshold Bool
)
ENGINE = MergeTree
ORDER BY (-score, customer_id);

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.churn_ranked {on_cluster} AS {db}.churn_ranked_local
ENGINE = Distributed({cluster}, '{db}', 'churn_ranked_local', cityHash64(customer_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.churn_ranked_mv {on_cluster}
REFRESH EVERY 30 SECOND TO {db}.churn_ranked{local} AS
SELECT c.customer_id AS customer_id, j.site AS site, c.at AS at, c.score AS score, c.p_alive AS p_alive, c.reasons AS reasons,
  c.next_action AS next_action, c.stage AS stage, c.crossed_threshold AS crossed_threshold
FROM {db}.churn_scores{local} AS c FINAL
LEFT JOIN {db}.customer_stage{local} AS j FINAL ON j.customer_id = c.customer_id
SETTINGS join_use_nulls = 1, max_threads = 1, os_threads_nice_value_query = 19;
