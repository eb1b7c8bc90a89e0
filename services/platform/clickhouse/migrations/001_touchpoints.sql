-- Raw touchpoints, as the sessionizer attributed them to customers and sessions.
-- ReplacingMergeTree on (site, customer_id, ts, message_id): a replayed or duplicated messageId
-- collapses on merge (and with FINAL), the last stage of the 24 h duplicate defence.
-- The sort key serves "one customer's timeline on a site" (support, debugging, data science) and
-- keeps a customer's rows together for the per-customer materialized views (008).
-- non_replicated_deduplication_window: a retried insert block (same insert_deduplication_token)
-- is dropped on a single node too, as Replicated tables do by default.
CREATE TABLE IF NOT EXISTS {db}.touchpoints{local} {on_cluster}
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

-- On a cluster, the plain name is a Distributed table sharded by customer: one customer's rows live
-- on one shard, so per-customer views and FINAL stay shard-local.
{cluster_only} CREATE TABLE IF NOT EXISTS {db}.touchpoints {on_cluster} AS {db}.touchpoints_local
ENGINE = Distributed({cluster}, '{db}', 'touchpoints_local', cityHash64(customer_id));
