-- Funnel alerts: an alert is emitted when it fires, possibly re-emitted while firing, and once more
-- when it resolves, all with the same alert_id; ReplacingMergeTree(at) keeps the newest event.
-- `since` is when it started firing, so the newest row alone places it on a time axis.
-- A small table (one row per incident): ORDER BY alert_id is all it needs.
CREATE TABLE IF NOT EXISTS {db}.alerts{local} {on_cluster}
(
  alert_id String,
  monitor LowCardinality(String),
  status Enum8('firing' = 1, 'resolved' = 2),
  at DateTime64(3, 'UTC'),
  since DateTime64(3, 'UTC'),
  site LowCardinality(String),
  step LowCardinality(String),
  baseline_rate Float64,
  observed_rate Float64,
  drop_pct Float64,
  statistic Float64,
  breakdown_hint Nullable(String),
  dashboard_url String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree(at)
ORDER BY alert_id
SETTINGS non_replicated_deduplication_window = 10000;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.alerts {on_cluster} AS {db}.alerts_local
ENGINE = Distributed({cluster}, '{db}', 'alerts_local', cityHash64(alert_id));
