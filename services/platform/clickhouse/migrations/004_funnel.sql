-- Raw funnel increments from the stages service: a customer entered `stage`, converted from
-- `from_stage` into `stage` within the conversion window, or dropped off at `stage`.
-- event_id is deterministic, so a replay collapses (ReplacingMergeTree); every column of the sort key
-- is fixed for a given event_id. ORDER BY (site, kind, stage, at): the raw reads are "conversions out
-- of one stage on one site over a window" (time-to-convert histogram).
CREATE TABLE IF NOT EXISTS {db}.funnel_events{local} {on_cluster}
(
  event_id String CODEC(ZSTD(1)),
  kind Enum8('entry' = 1, 'conversion' = 2, 'dropoff' = 3),
  from_stage Nullable(Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5)),
  stage Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5),
  at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  customer_id String CODEC(ZSTD(1)),
  site LowCardinality(String),
  channel LowCardinality(String),
  campaign LowCardinality(Nullable(String)),
  device_type LowCardinality(String),
  segment LowCardinality(Nullable(String)),
  seconds_to_convert Nullable(Float64)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (site, kind, stage, at, event_id)
TTL toDateTime(at) + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.funnel_events {on_cluster} AS {db}.funnel_events_local
ENGINE = Distributed({cluster}, '{db}', 'funnel_events_local', cityHash64(customer_id));

-- The funnel per minute and dimension values: what the dashboard's funnel, drop-off and
-- conversion-over-time charts read. Dimensions are non-null ('' = none) because they are sort-key
-- columns. ORDER BY (site, minute, ...): every dashboard query is one site over a time window, and
-- grouping columns follow in the order queries filter on them.
-- `events` counts rows and relies on block deduplication (insert_deduplication_token with
-- deduplicate_blocks_in_dependent_materialized_views = 1) for exactly-once; `customers` (uniq) is
-- idempotent under any replay, which is why the API computes rates from customers.
CREATE TABLE IF NOT EXISTS {db}.funnel_minute{local} {on_cluster}
(
  minute DateTime('UTC') CODEC(Delta, ZSTD(1)),
  site LowCardinality(String),
  stage Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5),
  kind Enum8('entry' = 1, 'conversion' = 2, 'dropoff' = 3),
  from_stage LowCardinality(String),
  channel LowCardinality(String),
  device_type LowCardinality(String),
  campaign LowCardinality(String),
  segment LowCardinality(String),
  events AggregateFunction(count),
  customers AggregateFunction(uniq, String),
  seconds_to_convert AggregateFunction(quantiles(0.5, 0.75, 0.9, 0.95, 0.99), Nullable(Float64))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (site, minute, stage, kind, from_stage, channel, device_type, campaign, segment)
SETTINGS non_replicated_deduplication_window = 10000;

-- Read-only on a cluster (the materialized view writes each shard's part): rand() only satisfies the syntax.
{cluster_only} CREATE TABLE IF NOT EXISTS {db}.funnel_minute {on_cluster} AS {db}.funnel_minute_local
ENGINE = Distributed({cluster}, '{db}', 'funnel_minute_local', rand());

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.funnel_minute_mv {on_cluster} TO {db}.funnel_minute{local} AS
SELECT
  toStartOfMinute(e.at) AS minute,
  e.site AS site,
  e.stage AS stage,
  e.kind AS kind,
  ifNull(toString(e.from_stage), '') AS from_stage,
  e.channel AS channel,
  e.device_type AS device_type,
  ifNull(e.campaign, '') AS campaign,
  ifNull(e.segment, '') AS segment,
  countState() AS events,
  uniqState(e.customer_id) AS customers,
  quantilesState(0.5, 0.75, 0.9, 0.95, 0.99)(e.seconds_to_convert) AS seconds_to_convert
FROM {db}.funnel_events{local} AS e
GROUP BY minute, site, stage, kind, from_stage, channel, device_type, campaign, segment;
