-- Every stage change of a customer's journey, as the stages service decided it. transition_id is
-- deterministic, so a replayed transition collapses (ReplacingMergeTree); every column of the sort
-- key is fixed for a given transition_id, which is what makes that collapse correct.
-- ORDER BY (site, at, transition_id): the dashboard reads one site over a time window (stage flow);
-- one customer's history is served by the bloom filter on customer_id.
CREATE TABLE IF NOT EXISTS {db}.stage_transitions{local} {on_cluster}
(
  transition_id String CODEC(ZSTD(1)),
  customer_id String CODEC(ZSTD(1)),
  account_id Nullable(String) CODEC(ZSTD(1)),
  from_stage Nullable(Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5)),
  to_stage Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5),
  at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  cause LowCardinality(String),
  message_id String CODEC(ZSTD(1)),
  site LowCardinality(String),
  channel LowCardinality(String),
  campaign LowCardinality(Nullable(String)),
  device_type LowCardinality(String),
  segment LowCardinality(Nullable(String)),
  referrer_customer_id Nullable(String) CODEC(ZSTD(1)),
  journey_number UInt32,
  INDEX idx_customer_id customer_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (site, at, transition_id)
SETTINGS non_replicated_deduplication_window = 10000;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.stage_transitions {on_cluster} AS {db}.stage_transitions_local
ENGINE = Distributed({cluster}, '{db}', 'stage_transitions_local', cityHash64(customer_id));

-- The latest journey state per customer, kept up to date by the materialized view below.
-- AggregatingMergeTree rather than ReplacingMergeTree(updated_at): `furthest` (the highest stage of
-- the current journey) needs every transition, not only the newest one, and an insert block only
-- sees its own rows. argMax by `at` picks the newest transition whatever the order of arrival (late
-- events); two transitions of one customer in the same millisecond resolve arbitrarily. One small
-- state per column, keyed by `at` alone, measured ~3x cheaper to merge than one tuple-valued state,
-- and a read only merges the columns it names. Every aggregate here is idempotent (argMax, max): a
-- replayed transition changes nothing.
-- Read it through customer_journey_latest, or argMaxMerge(...) / max(...) GROUP BY customer_id.
CREATE TABLE IF NOT EXISTS {db}.customer_journey{local} {on_cluster}
(
  customer_id String CODEC(ZSTD(1)),
  stage AggregateFunction(argMax, Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5), DateTime64(3, 'UTC')),
  previous_stage AggregateFunction(argMax, Nullable(Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5)), DateTime64(3, 'UTC')),
  site AggregateFunction(argMax, LowCardinality(String), DateTime64(3, 'UTC')),
  account_id AggregateFunction(argMax, Nullable(String), DateTime64(3, 'UTC')),
  entered_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
  journey_number SimpleAggregateFunction(max, UInt32),
  furthest SimpleAggregateFunction(max, Tuple(UInt32, Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5)))
)
ENGINE = AggregatingMergeTree
ORDER BY customer_id
SETTINGS non_replicated_deduplication_window = 10000;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.customer_journey {on_cluster} AS {db}.customer_journey_local
ENGINE = Distributed({cluster}, '{db}', 'customer_journey_local', cityHash64(customer_id));

-- On a cluster this fires on each shard for the rows the Distributed insert routed there, and all of
-- a customer's transitions route to the same shard (sharded by customer_id).
-- Source columns are qualified (t.) because the aliases reuse their names.
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.customer_journey_mv {on_cluster} TO {db}.customer_journey{local} AS
SELECT
  t.customer_id AS customer_id,
  argMaxState(t.to_stage, t.at) AS stage,
  argMaxState(t.from_stage, t.at) AS previous_stage,
  argMaxState(t.site, t.at) AS site,
  argMaxState(t.account_id, t.at) AS account_id,
  max(t.at) AS entered_at,
  max(t.journey_number) AS journey_number,
  max((t.journey_number, t.to_stage)) AS furthest
FROM {db}.stage_transitions{local} AS t
GROUP BY t.customer_id;

-- The public, finalized shape of customer_journey: one row per customer.
-- furthest_stage is the highest stage of the customer's current journey (journeys restart after advocacy).
CREATE VIEW IF NOT EXISTS {db}.customer_journey_latest {on_cluster} AS
SELECT
  j.customer_id AS customer_id,
  argMaxMerge(j.stage) AS stage,
  max(j.entered_at) AS entered_at,
  argMaxMerge(j.previous_stage) AS previous_stage,
  tupleElement(max(j.furthest), 2) AS furthest_stage,
  argMaxMerge(j.account_id) AS account_id,
  argMaxMerge(j.site) AS site,
  max(j.journey_number) AS journey_number
FROM {db}.customer_journey AS j
GROUP BY j.customer_id;
