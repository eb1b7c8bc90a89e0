-- The per-customer tables of migration 032, made cheaper to read one customer from. Measured on the
-- embedded engine at 10 M touchpoints (docs/clickhouse.md, "Customer lookups"): a lookup reads one
-- granule per part and column, and most of its cost was decompressing ZSTD blocks (the timeline's 18
-- columns in the 8 parts of two month partitions). So:
-- - touchpoints_by_customer loses its month partition (a customer's rows were in every partition's
--   parts; TTL deletes rows by merges as for the unpartitioned tables) and its ZSTD codecs (LZ4, the
--   default, decompresses several times faster; the copy is ~1.7x larger on disk): a timeline page
--   costs ~40% less CPU, the profile's account read ~40% less;
-- - sessions_by_customer holds every column of a session version, so the profile reads a customer's
--   sessions in one lookup instead of finding candidates here and re-reading `sessions` by key
--   (~45% less). The newest version of a session is among the linked ids' rows: a version moves a
--   session to another customer only when an identity merge links the two;
-- - customer_id_links and stage_transitions_by_customer take LZ4 for new parts (a codec change is
--   metadata only; parts merged later are rewritten with it): the identity read ~40% less CPU.
-- Both rebuilt tables are dropped and filled again from their sources: profile and timeline reads
-- that run during this migration see a partial copy (about a minute at 10 M touchpoints). A row
-- inserted between a view's creation and the backfill arrives twice and collapses (same sort key).
-- On a cluster the backfill fills the shard the migration runs on: run it on every shard.

DROP VIEW IF EXISTS {db}.touchpoints_by_customer_mv {on_cluster};

{cluster_only} DROP TABLE IF EXISTS {db}.touchpoints_by_customer {on_cluster};

DROP TABLE IF EXISTS {db}.touchpoints_by_customer{local} {on_cluster};

CREATE TABLE IF NOT EXISTS {db}.touchpoints_by_customer{local} {on_cluster}
(
  message_id String,
  customer_id String,
  account_id Nullable(String),
  session_id String,
  type LowCardinality(String),
  event LowCardinality(String),
  anonymous_id Nullable(String),
  user_id Nullable(String),
  site LowCardinality(String),
  channel LowCardinality(String),
  ts DateTime64(3, 'UTC') CODEC(Delta, LZ4),
  url Nullable(String),
  path Nullable(String),
  utm_campaign LowCardinality(Nullable(String)),
  device_type LowCardinality(String),
  revenue Nullable(Float64),
  late Bool,
  properties String
)
ENGINE = ReplacingMergeTree
ORDER BY (customer_id, ts, message_id)
TTL toDateTime(ts) + INTERVAL {ttl_days} DAY
SETTINGS index_granularity = 1024, non_replicated_deduplication_window = 10000;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.touchpoints_by_customer {on_cluster} AS {db}.touchpoints_by_customer_local
ENGINE = Distributed({cluster}, '{db}', 'touchpoints_by_customer_local', cityHash64(customer_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.touchpoints_by_customer_mv {on_cluster} TO {db}.touchpoints_by_customer{local} AS
SELECT t.message_id AS message_id, t.customer_id AS customer_id, t.account_id AS account_id, t.session_id AS session_id,
  t.type AS type, t.event AS event, t.anonymous_id AS anonymous_id, t.user_id AS user_id, t.site AS site, t.channel AS channel,
  t.ts AS ts, t.url AS url, t.path AS path, t.utm_campaign AS utm_campaign, t.device_type AS device_type, t.revenue AS revenue,
  t.late AS late, t.properties AS properties
FROM {db}.touchpoints{local} AS t;

INSERT INTO {db}.touchpoints_by_customer{local}
SELECT t.message_id, t.customer_id, t.account_id, t.session_id, t.type, t.event, t.anonymous_id, t.user_id, t.site, t.channel,
  t.ts, t.url, t.path, t.utm_campaign, t.device_type, t.revenue, t.late, t.properties
FROM {db}.touchpoints{local} AS t;

-- sessions_by_customer: every version of a session, under the customer it names; one row per
-- (customer, session) with that customer's newest version (ReplacingMergeTree(version)).
DROP VIEW IF EXISTS {db}.sessions_by_customer_mv {on_cluster};

{cluster_only} DROP TABLE IF EXISTS {db}.sessions_by_customer {on_cluster};

DROP TABLE IF EXISTS {db}.sessions_by_customer{local} {on_cluster};

CREATE TABLE IF NOT EXISTS {db}.sessions_by_customer{local} {on_cluster}
(
  customer_id String,
  session_id String,
  session_uid UUID,
  version UInt64,
  status Enum8('opened' = 1, 'updated' = 2, 'closed' = 3, 'merged' = 4),
  site LowCardinality(String),
  started_at DateTime64(3, 'UTC') CODEC(Delta, LZ4),
  ended_at DateTime64(3, 'UTC') CODEC(Delta, LZ4),
  event_count UInt32,
  channels Array(LowCardinality(String)),
  entry_event LowCardinality(String),
  exit_event LowCardinality(String),
  entry_url Nullable(String),
  exit_url Nullable(String),
  furthest_stage Nullable(Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5)),
  converted Bool
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (customer_id, session_id, session_uid)
SETTINGS index_granularity = 1024, non_replicated_deduplication_window = 10000;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.sessions_by_customer {on_cluster} AS {db}.sessions_by_customer_local
ENGINE = Distributed({cluster}, '{db}', 'sessions_by_customer_local', cityHash64(customer_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.sessions_by_customer_mv {on_cluster} TO {db}.sessions_by_customer{local} AS
SELECT s.customer_id AS customer_id, s.session_id AS session_id, s.session_uid AS session_uid, s.version AS version,
  s.status AS status, s.site AS site, s.started_at AS started_at, s.ended_at AS ended_at, s.event_count AS event_count,
  s.channels AS channels, s.entry_event AS entry_event, s.exit_event AS exit_event, s.entry_url AS entry_url,
  s.exit_url AS exit_url, s.furthest_stage AS furthest_stage, s.converted AS converted
FROM {db}.sessions{local} AS s;

INSERT INTO {db}.sessions_by_customer{local}
SELECT s.customer_id, s.session_id, s.session_uid, s.version, s.status, s.site, s.started_at, s.ended_at, s.event_count,
  s.channels, s.entry_event, s.exit_event, s.entry_url, s.exit_url, s.furthest_stage, s.converted
FROM {db}.sessions{local} AS s;

ALTER TABLE {db}.customer_id_links{local} {on_cluster} MODIFY COLUMN id String CODEC(LZ4), MODIFY COLUMN linked String CODEC(LZ4);

ALTER TABLE {db}.stage_transitions_by_customer{local} {on_cluster}
  MODIFY COLUMN transition_id String CODEC(LZ4), MODIFY COLUMN customer_id String CODEC(LZ4), MODIFY COLUMN at DateTime64(3, 'UTC') CODEC(Delta, LZ4);
