-- Data-driven (Markov) attribution runs (`npm run attribution`, services/attribution): one row per
-- run and channel, with the run's period, site ('' = every site) and totals repeated on each row so
-- a run reads back from its rows alone. A run is computed once and never changes; run_id is
-- random, so two runs over the same period are both kept (compare them, or read the newest).
-- ORDER BY (site, period_from, period_to, computed_at, run_id, channel): the reads are "the newest
-- run of this site and period" and "the newest run of this site".
CREATE TABLE IF NOT EXISTS {db}.attribution_runs{local} {on_cluster}
(
  run_id String,
  computed_at DateTime64(3, 'UTC'),
  site LowCardinality(String),
  period_from DateTime64(3, 'UTC'),
  period_to DateTime64(3, 'UTC'),
  model LowCardinality(String),
  channel LowCardinality(String),
  removal_effect Float64,
  conversions Float64,
  share Float64,
  total_conversions UInt64,
  total_null UInt64,
  unattributed_conversions UInt64,
  distinct_paths UInt64,
  paths_used UInt64,
  max_steps UInt16,
  duration_ms UInt32
)
ENGINE = ReplacingMergeTree
ORDER BY (site, period_from, period_to, computed_at, run_id, channel)
SETTINGS non_replicated_deduplication_window = 10000;

-- Runs are few and small: one shard holds a whole run (sharded by run_id).
{cluster_only} CREATE TABLE IF NOT EXISTS {db}.attribution_runs {on_cluster} AS {db}.attribution_runs_local
ENGINE = Distributed({cluster}, '{db}', 'attribution_runs_local', cityHash64(run_id));
