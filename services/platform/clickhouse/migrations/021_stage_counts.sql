-- Customers per (site, current stage): the answer of /api/stages/current, a few dozen rows instead of
-- one argMaxMerge per customer at read time (1.2 s p95 at 1 M customers on a loaded machine).
--
-- A refreshable materialized view recomputes the whole table from customer_stage (below: each
-- customer's newest transition) every 10 s and swaps it in atomically. Why not counts kept at write
-- time (signed ±1 rows, SummingMergeTree)? A count moves a customer from one stage to another, and
-- only a replay-proof view of the customer's previous stage can say from which: an insert block
-- sees its own rows, and a replayed transition lands in a new block (new deduplication token), so
-- ±1 rows would count it twice. A recompute has no such state: it is the same question asked of
-- each customer's newest transition (ReplacingMergeTree by time: idempotent), so replays, late
-- events, identity merges (an absorbed id keeps its own rows and is counted as the raw tables count
-- it), journeys restarted after advocacy and erased customers all come out exactly as
-- stage_transitions FINAL says, as of the last refresh. The price: the counts lag writes by up to
-- one interval plus the refresh itself, and each refresh costs one pass over customer_stage
-- (docs/clickhouse.md, "Snapshots"). An erase (services/writer/forget/erase-rows.ts) refreshes at once.
-- The refresh runs on one thread at the lowest OS priority (max_threads = 1,
-- os_threads_nice_value_query = 19): the dashboard's reads, a few milliseconds each, go first.
-- On a cluster each shard refreshes from its own customer_stage_local (a customer lives on one
-- shard) and the Distributed table sums the shards.
--
-- customer_stage: each customer's newest transition (stage and site) as plain columns, the input of
-- the snapshots. ReplacingMergeTree(version) keeps the row with the highest `at` (ms) whatever the
-- order of arrival; a replayed transition is the same row again. Read with FINAL, which costs little
-- once merged (6 ms at 1 M customers in one part), where customer_journey's argMaxMerge of two
-- states per customer took 2.1 s per refresh at load 7. Two transitions of one customer in the same
-- millisecond resolve arbitrarily here as in customer_journey (migration 003).
CREATE TABLE IF NOT EXISTS {db}.customer_stage{local} {on_cluster}
(
  customer_id String CODEC(ZSTD(1)),
  version UInt64,
  site LowCardinality(String),
  stage Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY customer_id
SETTINGS non_replicated_deduplication_window = 10000;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.customer_stage {on_cluster} AS {db}.customer_stage_local
ENGINE = Distributed({cluster}, '{db}', 'customer_stage_local', cityHash64(customer_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.customer_stage_mv {on_cluster} TO {db}.customer_stage{local} AS
SELECT t.customer_id AS customer_id, toUInt64(toUnixTimestamp64Milli(t.at)) AS version, t.site AS site, t.to_stage AS stage
FROM {db}.stage_transitions{local} AS t;

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
SELECT c.site AS site, c.stage AS stage, count() AS customers
FROM {db}.customer_stage{local} AS c FINAL
GROUP BY site, stage
SETTINGS max_threads = 1, os_threads_nice_value_query = 19;

-- Customers whose transitions predate this migration (the view above sees only new inserts). A row
-- inserted between the view's creation and this one arrives twice and collapses (same version).
-- On a cluster this fills the shard the migration runs on: run it on every shard.
INSERT INTO {db}.customer_stage{local}
SELECT t.customer_id, toUInt64(toUnixTimestamp64Milli(t.at)), t.site, t.to_stage
FROM {db}.stage_transitions{local} AS t;
