-- Conversions per (site, UTC hour): how many have rule-based credit (`attributed`, from
-- `attribution`) and how many conversion touchpoints there were (`conversions`, from
-- conversion_touchpoints_hourly, migration 030), as plain numbers, so that /api/attribution's
-- "unattributed conversions" adds a few hundred numbers instead of merging every conversion's message
-- id of the period (a third of that answer's 75 ms p95 at 10 M touchpoints). Both are exact per hour,
-- and a conversion (or a message id) has one hour, so the sum over hours is the period's count.
-- A snapshot refreshed with attribution_hourly (every 5 minutes, an erase refreshes it), so the two
-- counts and the credit are of one moment.
CREATE TABLE IF NOT EXISTS {db}.attribution_conversions_hourly{local} {on_cluster}
(
  site LowCardinality(String),
  hour DateTime('UTC'),
  attributed UInt64,
  conversions UInt64
)
ENGINE = MergeTree
ORDER BY (site, hour);

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.attribution_conversions_hourly {on_cluster} AS {db}.attribution_conversions_hourly_local
ENGINE = Distributed({cluster}, '{db}', 'attribution_conversions_hourly_local', rand());

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.attribution_conversions_hourly_mv {on_cluster}
REFRESH EVERY 5 MINUTE TO {db}.attribution_conversions_hourly{local} AS
SELECT u.site AS site, u.hour AS hour, max(u.attributed) AS attributed, max(u.conversions) AS conversions
FROM
(
  SELECT a.site AS site, toStartOfHour(a.converted_at) AS hour, uniqExact(a.conversion_id) AS attributed, toUInt64(0) AS conversions
  FROM {db}.attribution{local} AS a
  GROUP BY site, hour
  UNION ALL
  SELECT c.site AS site, c.hour AS hour, toUInt64(0) AS attributed, uniqExactMerge(c.message_ids) AS conversions
  FROM {db}.conversion_touchpoints_hourly{local} AS c
  GROUP BY site, hour
) AS u
GROUP BY site, hour
SETTINGS max_threads = 1, os_threads_nice_value_query = 19;
