-- Raw touchpoints, as the sessionizer attributed them to customers and sessions.
-- ReplacingMergeTree on (site, customer_id, ts, message_id): a replayed or duplicated messageId
-- collapses on merge (and with FINAL), the last stage of the 24 h duplicate defence.
CREATE TABLE IF NOT EXISTS {db}.touchpoints {on_cluster}
(
  message_id String CODEC(ZSTD(1)),
  customer_id String CODEC(ZSTD(1)),
  account_id Nullable(String) CODEC(ZSTD(1)),
  session_id String CODEC(ZSTD(1)),
  type LowCardinality(String),
  event LowCardinality(String),
  anonymous_id Nullable(String) CODEC(ZSTD(1)),
  user_id Nullable(String) CODEC(ZSTD(1)),
  source LowCardinality(String),
  site LowCardinality(String),
  channel LowCardinality(String),
  ts DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  received_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  url Nullable(String) CODEC(ZSTD(3)),
  path Nullable(String) CODEC(ZSTD(3)),
  utm_campaign LowCardinality(Nullable(String)),
  device_type LowCardinality(String),
  segment LowCardinality(Nullable(String)),
  revenue Nullable(Float64),
  late Bool,
  properties String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (site, customer_id, ts, message_id)
TTL toDateTime(ts) + INTERVAL {ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;
