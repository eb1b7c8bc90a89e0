-- Sessions as the sessionizer emits them: every change re-emits the whole session with a higher
-- `version` (opened → updated → closed, or merged into another session), and the highest version of a
-- session_id wins on merge and with FINAL.
-- ORDER BY session_id alone: a later version may move the session to another customer
-- (re-attribution after identity stitching) or to an earlier start (a merge), so no other column is
-- stable enough to be part of the replacing key. For the same reason there is no time partition:
-- versions in different partitions would never replace each other.
-- Secondary indexes serve the common reads: a time window (minmax on started_at) and one customer's
-- sessions (bloom filter on customer_id).
CREATE TABLE IF NOT EXISTS {db}.sessions{local} {on_cluster}
(
  session_id String CODEC(ZSTD(1)),
  customer_id String CODEC(ZSTD(1)),
  status Enum8('opened' = 1, 'updated' = 2, 'closed' = 3, 'merged' = 4),
  version UInt64,
  site LowCardinality(String),
  started_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  ended_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  event_count UInt32,
  channels Array(LowCardinality(String)),
  entry_event LowCardinality(String),
  exit_event LowCardinality(String),
  entry_url Nullable(String) CODEC(ZSTD(3)),
  exit_url Nullable(String) CODEC(ZSTD(3)),
  furthest_stage Nullable(Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5)),
  converted Bool,
  INDEX idx_started_at started_at TYPE minmax GRANULARITY 1,
  INDEX idx_customer_id customer_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree(version)
ORDER BY session_id
SETTINGS non_replicated_deduplication_window = 10000;

-- Sharded by session_id, not customer_id: a re-attributed version must land on the shard that holds
-- the versions it replaces.
{cluster_only} CREATE TABLE IF NOT EXISTS {db}.sessions {on_cluster} AS {db}.sessions_local
ENGINE = Distributed({cluster}, '{db}', 'sessions_local', cityHash64(session_id));
