-- Messages a stage could not process, with the original bytes (base64) and the reason, for
-- inspection and replay. ORDER BY (source_topic, stage, at): triage is "what failed where, lately".
-- Daily partitions so the 30-day TTL drops whole parts.
CREATE TABLE IF NOT EXISTS {db}.dead_letters{local} {on_cluster}
(
  source_topic LowCardinality(String),
  stage LowCardinality(String),
  reason String CODEC(ZSTD(1)),
  at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  key Nullable(String) CODEC(ZSTD(1)),
  payload String CODEC(ZSTD(3))
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(at)
ORDER BY (source_topic, stage, at)
TTL toDateTime(at) + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.dead_letters {on_cluster} AS {db}.dead_letters_local
ENGINE = Distributed({cluster}, '{db}', 'dead_letters_local', rand());
