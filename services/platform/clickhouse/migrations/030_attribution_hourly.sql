-- What /api/attribution reads (docs/clickhouse.md, "Attribution by the hour"): heuristic credit and
-- conversions per site and UTC hour of conversion, instead of `attribution` FINAL and a scan of the
-- window's touchpoints at read time (2.5–9.3 s p95 at 10 M touchpoints, loaded machine). The API
-- answers whole UTC hours (services/platform/attribution/hour-window.ts).
--
-- attribution_hourly: credit per (site, hour, model, channel) (attribution_campaign_hourly: per
-- campaign), recomputed from
-- `attribution` FINAL by a refreshable materialized view every 5 minutes and swapped in whole, for
-- the reason snapshots are recomputed rather than kept by inserts (021_stage_counts.sql): a
-- correction replaces a conversion's rows by version, and only FINAL says which version a sum must
-- take; a sum kept at write time would add both. `conversions`: the conversions of that hour with a
-- credit row (each version of a conversion lists every heuristic model, attribution-partition.ts, so
-- one count per hour serves any set of models), the same in every row of the hour. Exact as of the
-- last refresh; an erase refreshes it at once. Lowest priority, one thread, as the other snapshots.
CREATE TABLE IF NOT EXISTS {db}.attribution_hourly{local} {on_cluster}
(
  site LowCardinality(String),
  hour DateTime('UTC'),
  model LowCardinality(String),
  channel LowCardinality(String),
  credit Float64,
  revenue Nullable(Float64),
  conversions UInt64
)
ENGINE = MergeTree
ORDER BY (site, model, hour, channel);

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.attribution_hourly {on_cluster} AS {db}.attribution_hourly_local
ENGINE = Distributed({cluster}, '{db}', 'attribution_hourly_local', rand());

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.attribution_hourly_mv {on_cluster}
REFRESH EVERY 5 MINUTE TO {db}.attribution_hourly{local} AS
SELECT c.site AS site, c.hour AS hour, c.model AS model, c.channel AS channel, c.credit AS credit, c.revenue AS revenue, n.conversions AS conversions
FROM
(
  SELECT site, toStartOfHour(converted_at) AS hour, model, channel, sum(credit) AS credit, sum(revenue_share) AS revenue
  FROM {db}.attribution{local} FINAL
  GROUP BY site, hour, model, channel
) AS c
INNER JOIN
(
  SELECT site, toStartOfHour(converted_at) AS hour, uniqExact(conversion_id) AS conversions
  FROM {db}.attribution{local}
  GROUP BY site, hour
) AS n ON n.site = c.site AND n.hour = c.hour
SETTINGS max_threads = 1, os_threads_nice_value_query = 19;

-- The same credit per campaign (NULL: none), for the campaign breakdown: a table of its own, so the
-- channel breakdown (the dashboard's) reads a few rows per hour, not one per channel and campaign.
CREATE TABLE IF NOT EXISTS {db}.attribution_campaign_hourly{local} {on_cluster}
(
  site LowCardinality(String),
  hour DateTime('UTC'),
  model LowCardinality(String),
  campaign LowCardinality(Nullable(String)),
  credit Float64,
  revenue Nullable(Float64)
)
ENGINE = MergeTree
ORDER BY (site, model, hour);

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.attribution_campaign_hourly {on_cluster} AS {db}.attribution_campaign_hourly_local
ENGINE = Distributed({cluster}, '{db}', 'attribution_campaign_hourly_local', rand());

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.attribution_campaign_hourly_mv {on_cluster}
REFRESH EVERY 5 MINUTE TO {db}.attribution_campaign_hourly{local} AS
SELECT site, toStartOfHour(converted_at) AS hour, model, campaign, sum(credit) AS credit, sum(revenue_share) AS revenue
FROM {db}.attribution{local} FINAL
GROUP BY site, hour, model, campaign
SETTINGS max_threads = 1, os_threads_nice_value_query = 19;

-- Conversion touchpoints per (site, hour): the denominator of "unattributed conversions". Kept at
-- write time: a set of message ids (uniqExact) is idempotent, so a replayed or duplicated touchpoint
-- changes nothing, and a read merges the window's hours. The events are DEFAULT_CONVERSION_EVENTS
-- (services/platform/attribution/journey-paths.ts; a unit test keeps the two lists equal).
CREATE TABLE IF NOT EXISTS {db}.conversion_touchpoints_hourly{local} {on_cluster}
(
  site LowCardinality(String),
  hour DateTime('UTC'),
  message_ids AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
ORDER BY (site, hour)
TTL hour + INTERVAL {ttl_days} DAY;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.conversion_touchpoints_hourly {on_cluster} AS {db}.conversion_touchpoints_hourly_local
ENGINE = Distributed({cluster}, '{db}', 'conversion_touchpoints_hourly_local', rand());

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.conversion_touchpoints_hourly_mv {on_cluster} TO {db}.conversion_touchpoints_hourly{local} AS
SELECT t.site AS site, toStartOfHour(t.ts) AS hour, uniqExactState(t.message_id) AS message_ids
FROM {db}.touchpoints{local} AS t
WHERE t.event IN ('Order Completed', 'Contract Signed')
GROUP BY site, hour;

-- Touchpoints written before this migration (the view above sees only new inserts). A row inserted
-- between the view's creation and this one is in both, which a set does not count twice.
INSERT INTO {db}.conversion_touchpoints_hourly{local}
SELECT t.site, toStartOfHour(t.ts), uniqExactState(t.message_id)
FROM {db}.touchpoints{local} AS t
WHERE t.event IN ('Order Completed', 'Contract Signed')
GROUP BY t.site, toStartOfHour(t.ts);
