-- What the customer profile and timeline API (GET /api/customers/{id}, /timeline) reads: one
-- customer's rows by the sort key, instead of through tables sorted for the dashboard. At 10 M
-- touchpoints a lookup of one customer in `touchpoints` (ORDER BY site, customer_id, …) read ~36
-- granules of 8,192 rows (the customer's range in every part and site), and the identity
-- resolution read touchpoints once per hop through bloom filters: 154 ms p95 for a profile, 125 ms
-- for a timeline page (docs/clickhouse.md, "Customer lookups"). The tables below are kept at write
-- time by materialized views on their sources, sorted by customer, with granules of 1,024 rows.
-- Their price is the disk and insert work of a second copy of each touchpoint (about as big as
-- `touchpoints` itself) and of the transitions' few columns.
--
-- customer_id_links: which ids appeared together, as an undirected adjacency list for the identity
-- resolution (services/query-api/queries/customer-identity.ts). A touchpoint processed under customer
-- c naming ids X (c itself, `u:<user_id>`, `a:<anonymous_id>`) gives (x, c, true) and (c, x, x = c)
-- for each x: `linked_is_customer` says the linked id was the row's customer id (the root of the
-- identity graph then), which the resolution needs to name the stitched customer. Both directions,
-- so one lookup by `id` finds a customer's ids and an id's customers. Every row is idempotent (a
-- replayed touchpoint gives the same rows again); ReplacingMergeTree(last_seen) keeps one per
-- (id, linked, flag) with the newest touchpoint's time, and the TTL lets a link go with the last
-- touchpoint that made it, as `touchpoints` lets the touchpoints go.
CREATE TABLE IF NOT EXISTS {db}.customer_id_links{local} {on_cluster}
(
  id String CODEC(ZSTD(1)),
  linked String CODEC(ZSTD(1)),
  linked_is_customer Bool,
  last_seen DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(last_seen)
ORDER BY (id, linked, linked_is_customer)
TTL toDateTime(last_seen) + INTERVAL {ttl_days} DAY
SETTINGS index_granularity = 1024, non_replicated_deduplication_window = 10000;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.customer_id_links {on_cluster} AS {db}.customer_id_links_local
ENGINE = Distributed({cluster}, '{db}', 'customer_id_links_local', rand());

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.customer_id_links_mv {on_cluster} TO {db}.customer_id_links{local} AS
SELECT l.1 AS id, l.2 AS linked, l.3 AS linked_is_customer, max(ts) AS last_seen
FROM
(
  SELECT t.ts AS ts, t.customer_id AS c,
    arrayFilter(x -> x != '', [t.customer_id, if(t.user_id IS NULL, '', concat('u:', t.user_id)), if(t.anonymous_id IS NULL, '', concat('a:', t.anonymous_id))]) AS ids
  FROM {db}.touchpoints{local} AS t
)
ARRAY JOIN arrayConcat(arrayMap(x -> (x, c, true), ids), arrayMap(x -> (c, x, x = c), ids)) AS l
GROUP BY id, linked, linked_is_customer;

-- touchpoints_by_customer: every touchpoint again, sorted by (customer_id, ts, message_id): a
-- timeline page reads the customer's own granules and stops at the page's end. ReplacingMergeTree on
-- the message id's key, as `touchpoints`, and read with LIMIT 1 BY (ts, message_id) as it was.
CREATE TABLE IF NOT EXISTS {db}.touchpoints_by_customer{local} {on_cluster}
(
  message_id String CODEC(ZSTD(1)),
  customer_id String CODEC(ZSTD(1)),
  account_id Nullable(String) CODEC(ZSTD(1)),
  session_id String CODEC(ZSTD(1)),
  type LowCardinality(String),
  event LowCardinality(String),
  anonymous_id Nullable(String) CODEC(ZSTD(1)),
  user_id Nullable(String) CODEC(ZSTD(1)),
  site LowCardinality(String),
  channel LowCardinality(String),
  ts DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  url Nullable(String) CODEC(ZSTD(3)),
  path Nullable(String) CODEC(ZSTD(3)),
  utm_campaign LowCardinality(Nullable(String)),
  device_type LowCardinality(String),
  revenue Nullable(Float64),
  late Bool,
  properties String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
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

-- stage_transitions_by_customer: the columns of a customer's transition history, sorted by customer
-- (stage_transitions is sorted by site and time for the stage flow). transition_id is deterministic
-- and fixes every column, so a replay collapses here as there.
CREATE TABLE IF NOT EXISTS {db}.stage_transitions_by_customer{local} {on_cluster}
(
  transition_id String CODEC(ZSTD(1)),
  customer_id String CODEC(ZSTD(1)),
  from_stage Nullable(Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5)),
  to_stage Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5),
  at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  cause LowCardinality(String),
  site LowCardinality(String),
  channel LowCardinality(String),
  journey_number UInt32
)
ENGINE = ReplacingMergeTree
ORDER BY (customer_id, at, transition_id)
SETTINGS index_granularity = 1024, non_replicated_deduplication_window = 10000;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.stage_transitions_by_customer {on_cluster} AS {db}.stage_transitions_by_customer_local
ENGINE = Distributed({cluster}, '{db}', 'stage_transitions_by_customer_local', cityHash64(customer_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stage_transitions_by_customer_mv {on_cluster} TO {db}.stage_transitions_by_customer{local} AS
SELECT t.transition_id AS transition_id, t.customer_id AS customer_id, t.from_stage AS from_stage, t.to_stage AS to_stage,
  t.at AS at, t.cause AS cause, t.site AS site, t.channel AS channel, t.journey_number AS journey_number
FROM {db}.stage_transitions{local} AS t;

-- sessions_by_customer: which sessions a customer had, sorted by customer: the profile's candidates
-- for its recent sessions (it then reads their newest versions from `sessions` by its sort key, since
-- a later version may have moved a session to another customer). One row per (customer, session)
-- with its newest version's times; a version under another customer is another row here.
CREATE TABLE IF NOT EXISTS {db}.sessions_by_customer{local} {on_cluster}
(
  customer_id String CODEC(ZSTD(1)),
  session_id String CODEC(ZSTD(1)),
  session_uid UUID,
  version UInt64,
  started_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  ended_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1))
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (customer_id, session_id, session_uid)
SETTINGS index_granularity = 1024, non_replicated_deduplication_window = 10000;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.sessions_by_customer {on_cluster} AS {db}.sessions_by_customer_local
ENGINE = Distributed({cluster}, '{db}', 'sessions_by_customer_local', cityHash64(customer_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.sessions_by_customer_mv {on_cluster} TO {db}.sessions_by_customer{local} AS
SELECT s.customer_id AS customer_id, s.session_id AS session_id, s.session_uid AS session_uid, s.version AS version,
  s.started_at AS started_at, s.ended_at AS ended_at
FROM {db}.sessions{local} AS s;

-- Rows written before this migration (the views above see only new inserts). A row inserted between
-- a view's creation and its backfill arrives twice and collapses (same sort key). On a large install
-- this reads `touchpoints` once (10 M rows: about a minute on two cores). On a cluster this fills the
-- shard the migration runs on: run it on every shard.
INSERT INTO {db}.customer_id_links{local}
SELECT l.1 AS id, l.2 AS linked, l.3 AS linked_is_customer, max(ts) AS last_seen
FROM
(
  SELECT t.ts AS ts, t.customer_id AS c,
    arrayFilter(x -> x != '', [t.customer_id, if(t.user_id IS NULL, '', concat('u:', t.user_id)), if(t.anonymous_id IS NULL, '', concat('a:', t.anonymous_id))]) AS ids
  FROM {db}.touchpoints{local} AS t
)
ARRAY JOIN arrayConcat(arrayMap(x -> (x, c, true), ids), arrayMap(x -> (c, x, x = c), ids)) AS l
GROUP BY id, linked, linked_is_customer;

INSERT INTO {db}.touchpoints_by_customer{local}
SELECT t.message_id, t.customer_id, t.account_id, t.session_id, t.type, t.event, t.anonymous_id, t.user_id, t.site, t.channel,
  t.ts, t.url, t.path, t.utm_campaign, t.device_type, t.revenue, t.late, t.properties
FROM {db}.touchpoints{local} AS t;

INSERT INTO {db}.sessions_by_customer{local}
SELECT s.customer_id, s.session_id, s.session_uid, s.version, s.started_at, s.ended_at
FROM {db}.sessions{local} AS s;

INSERT INTO {db}.stage_transitions_by_customer{local}
SELECT t.transition_id, t.customer_id, t.from_stage, t.to_stage, t.at, t.cause, t.site, t.channel, t.journey_number
FROM {db}.stage_transitions{local} AS t;
