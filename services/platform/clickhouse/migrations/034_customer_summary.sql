-- customer_summary: one small row per customer id holding what the profile shows of it apart from
-- its lists (transitions, sessions): the journey as customer_journey keeps it, the newest churn score
-- and the newest touchpoint account. The profile read it in three lookups (customer_journey,
-- churn_scores, touchpoints_by_customer), each one granule of 1,024-8,192 rows per part and column;
-- here it is one lookup of one granule of 256 rows (docs/clickhouse.md, "Customer lookups").
-- Three views fill it, one per source, each writing only its own columns: a customer with no
-- transitions has NULL entered_at (no journey), one with no score NULL churn_at, one whose touchpoints
-- never named an account NULL account_at. Every aggregate is idempotent (argMax, max): a replayed
-- row changes nothing, and the backfills below may overlap the views' first rows.
-- Kept as long as customer_journey (no TTL): the account is a B2B id, not an event; the forget flow
-- erases a customer's row like any table's (services/writer/forget/erase-rows.ts).
CREATE TABLE IF NOT EXISTS {db}.customer_summary{local} {on_cluster}
(
  customer_id String,
  stage AggregateFunction(argMax, Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5), DateTime64(3, 'UTC')),
  previous_stage AggregateFunction(argMax, Nullable(Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5)), DateTime64(3, 'UTC')),
  journey_account_id AggregateFunction(argMax, Nullable(String), DateTime64(3, 'UTC')),
  entered_at SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
  journey_number SimpleAggregateFunction(max, UInt32),
  furthest SimpleAggregateFunction(max, Tuple(UInt32, Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5))),
  churn_at SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
  -- (An aggregate state's argument types drop LowCardinality: churn_scores' reasons and next_action.)
  churn AggregateFunction(argMax, Tuple(
    score Float64,
    p_alive Float64,
    reasons Array(String),
    next_action String,
    stage Nullable(Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5)),
    crossed_threshold Bool
  ), DateTime64(3, 'UTC')),
  account_at SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
  account_id AggregateFunction(argMax, String, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY customer_id
SETTINGS index_granularity = 256, non_replicated_deduplication_window = 10000;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.customer_summary {on_cluster} AS {db}.customer_summary_local
ENGINE = Distributed({cluster}, '{db}', 'customer_summary_local', cityHash64(customer_id));

-- The journey columns: customer_journey_mv's aggregates (migration 003) over the same transitions.
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.customer_summary_journey_mv {on_cluster} TO {db}.customer_summary{local} AS
SELECT
  t.customer_id AS customer_id,
  argMaxState(t.to_stage, t.at) AS stage,
  argMaxState(t.from_stage, t.at) AS previous_stage,
  argMaxState(t.account_id, t.at) AS journey_account_id,
  max(t.at) AS entered_at,
  max(t.journey_number) AS journey_number,
  max((t.journey_number, t.to_stage)) AS furthest
FROM {db}.stage_transitions{local} AS t
GROUP BY t.customer_id;

-- The newest score by `at`, as churn_scores' ReplacingMergeTree(at) keeps it (a re-scoring at the
-- same instant writes the same score).
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.customer_summary_churn_mv {on_cluster} TO {db}.customer_summary{local} AS
SELECT
  c.customer_id AS customer_id,
  max(c.at) AS churn_at,
  argMaxState((c.score, c.p_alive, c.reasons, c.next_action, c.stage, c.crossed_threshold), c.at) AS churn
FROM {db}.churn_scores{local} AS c
GROUP BY c.customer_id;

-- The account of the customer's newest touchpoint that names one.
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.customer_summary_account_mv {on_cluster} TO {db}.customer_summary{local} AS
SELECT
  t.customer_id AS customer_id,
  max(t.ts) AS account_at,
  argMaxState(assumeNotNull(t.account_id), t.ts) AS account_id
FROM {db}.touchpoints{local} AS t
WHERE t.account_id IS NOT NULL
GROUP BY t.customer_id;

INSERT INTO {db}.customer_summary{local} (customer_id, stage, previous_stage, journey_account_id, entered_at, journey_number, furthest)
SELECT t.customer_id, argMaxState(t.to_stage, t.at), argMaxState(t.from_stage, t.at), argMaxState(t.account_id, t.at),
  max(t.at), max(t.journey_number), max((t.journey_number, t.to_stage))
FROM {db}.stage_transitions{local} AS t
GROUP BY t.customer_id;

INSERT INTO {db}.customer_summary{local} (customer_id, churn_at, churn)
SELECT c.customer_id, max(c.at), argMaxState((c.score, c.p_alive, c.reasons, c.next_action, c.stage, c.crossed_threshold), c.at)
FROM {db}.churn_scores{local} AS c
GROUP BY c.customer_id;

INSERT INTO {db}.customer_summary{local} (customer_id, account_at, account_id)
SELECT t.customer_id, max(t.ts), argMaxState(assumeNotNull(t.account_id), t.ts)
FROM {db}.touchpoints{local} AS t
WHERE t.account_id IS NOT NULL
GROUP BY t.customer_id;
