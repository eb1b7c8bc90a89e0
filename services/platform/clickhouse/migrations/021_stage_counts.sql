-- Customers per (site, current stage): the answer of /api/stages/current, a few dozen rows instead of
-- one argMaxMerge per customer at read time (1.2 s p95 at 1 M customers on a loaded machine).
--
-- A refreshable materialized view recomputes the whole table from customer_journey every 10 s and
-- swaps it in atomically. Why not counts kept at write time (signed ±1 rows, SummingMergeTree)?
-- A count moves a customer from one stage to another, and only a replay-proof view of the customer's
-- previous stage can say from which: an insert block sees its own rows, and a replayed transition
-- lands in a new block (new deduplication token), so ±1 rows would count it twice. A recompute has
-- no such state: it is the same question asked of the per-customer states (argMax, idempotent), so
-- replays, late events, identity merges (an absorbed id keeps its own rows and is counted as the raw
-- tables count it), journeys restarted after advocacy and erased customers all come out exactly as
-- customer_journey_latest says, as of the last refresh. The price: the counts lag writes by up to one
-- interval plus the refresh itself, and each refresh costs one pass over customer_journey
-- (docs/clickhouse.md, "Snapshots"). An erase (services/writer/forget/erase-rows.ts) refreshes at once.
-- The refresh runs on one thread at the lowest OS priority (max_threads = 1, os_threads_nice_value_query
-- = 19): the dashboard's reads, a few milliseconds each, go first, and the refresh takes what is left.
-- On a cluster each shard refreshes from its own customer_journey_local (a customer lives on one
-- shard) and the Distributed table sums the shards.
CREATE TABLE IF NOT EXISTS {db}.stage_counts{local} {on_cluster}
(
  site LowCardinality(String),
  stage Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5),
  customers UInt64
)
ENGINE = MergeTree
ORDER BY (site, stage);

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.stage_counts {on_cluster} AS {db}.stage_counts_local
ENGINE = Distributed({cluster}, '{db}', 'stage_counts_local', rand());

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stage_counts_mv {on_cluster}
REFRESH EVERY 10 SECOND TO {db}.stage_counts{local} AS
SELECT l.site AS site, l.stage AS stage, count() AS customers
FROM (
  SELECT argMaxMerge(j.stage) AS stage, argMaxMerge(j.site) AS site
  FROM {db}.customer_journey{local} AS j
  GROUP BY j.customer_id
) AS l
GROUP BY site, stage
SETTINGS max_threads = 1, os_threads_nice_value_query = 19;
