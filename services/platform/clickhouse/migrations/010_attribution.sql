-- Rule-based attribution: per conversion and model, the credit of every touch in the conversion's
-- lookback window (services/platform/attribution/heuristic.ts). Rows come from `attributionRows`
-- (attribution-rows.ts); the journey step writes them once it is wired to the models.
-- Corrections: a late touch or an identity merge adds touches to a conversion's window, and the
-- conversion is attributed again from the full touch list as a new version (= the number of touches
-- it was computed from, which only grows). A version lists every touch of the window, including those
-- a model gives 0 (first touch's later touches), so each row of an older version has a newer row with
-- the same key, and ReplacingMergeTree(version) keeps only the latest: read with FINAL, or
-- argMax(credit, version). A touch added by a correction appears as a new key with the new version.
-- ORDER BY (site, conversion_id, model, touch_message_id): every column fixed for the key; reads are
-- "one site's credit over a window" (converted_at is in the partition and a min-max index) and
-- "one conversion's credit" (the key prefix).
CREATE TABLE IF NOT EXISTS {db}.attribution{local} {on_cluster}
(
  conversion_id String CODEC(ZSTD(1)),
  customer_id String CODEC(ZSTD(1)),
  site LowCardinality(String),
  converted_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  model LowCardinality(String),
  touch_message_id String CODEC(ZSTD(1)),
  channel LowCardinality(String),
  campaign LowCardinality(Nullable(String)),
  touch_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  credit Float64,
  revenue_share Nullable(Float64),
  version UInt32,
  INDEX converted_at_minmax converted_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(converted_at)
ORDER BY (site, conversion_id, model, touch_message_id)
TTL toDateTime(converted_at) + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- Sharded by customer like touchpoints: a conversion's corrections come from the same customer's
-- journey, so every version of a row lands on one shard and FINAL stays shard-local.
{cluster_only} CREATE TABLE IF NOT EXISTS {db}.attribution {on_cluster} AS {db}.attribution_local
ENGINE = Distributed({cluster}, '{db}', 'attribution_local', cityHash64(customer_id));
