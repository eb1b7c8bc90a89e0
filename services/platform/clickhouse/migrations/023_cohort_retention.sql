-- Weekly cohort retention (/api/cohorts) for every cohort and week of history, for each site and for
-- all sites together: how many of a cohort's customers were active, and purchasing, in each week
-- from their first purchase on. The API picks the cohorts and weeks it shows (its `since` and this
-- week) out of a few thousand rows, where it had to find every customer's first purchase and join it
-- to their activity at read time (833 ms p95 at 10 M touchpoints, loaded machine).
--
-- A snapshot recomputed from customer_activity_weekly every 5 minutes by a refreshable materialized
-- view, for the reasons of 021_stage_counts.sql (and at the same low priority): a customer's cohort
-- is their first purchase over all history, which a late earlier purchase can move, so counts kept
-- at insert time would have to move the customer out of a cohort they were counted in. Exact as of
-- the last refresh (unique customers, min and max: replays change nothing); an erase refreshes it at
-- once. Cohorts move by the week, so minutes of lag cost little, and the refresh (every cohort and
-- week, two joins over customer_activity_weekly: 3.7 s at 10 M touchpoints, load 9) stays rare.
-- all_sites = 1: first purchase and activity over every site (site = ''); else both within `site`.
-- On a cluster each shard counts its own customers (a customer lives on one shard) and the query
-- sums the shards.
CREATE TABLE IF NOT EXISTS {db}.cohort_retention{local} {on_cluster}
(
  all_sites Bool,
  site LowCardinality(String),
  cohort Date,
  week Date,
  active UInt64,
  purchasing UInt64
)
ENGINE = MergeTree
ORDER BY (all_sites, site, cohort, week);

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.cohort_retention {on_cluster} AS {db}.cohort_retention_local
ENGINE = Distributed({cluster}, '{db}', 'cohort_retention_local', rand());

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.cohort_retention_mv {on_cluster}
REFRESH EVERY 5 MINUTE TO {db}.cohort_retention{local} AS
WITH
  site_first AS (
    SELECT p.customer_id AS customer_id, p.site AS site, min(p.week) AS cohort
    FROM {db}.customer_activity_weekly{local} AS p WHERE p.purchased = 1 GROUP BY customer_id, site
  ),
  any_first AS (
    SELECT p.customer_id AS customer_id, min(p.week) AS cohort
    FROM {db}.customer_activity_weekly{local} AS p WHERE p.purchased = 1 GROUP BY customer_id
  )
SELECT false AS all_sites, a.site AS site, f.cohort AS cohort, a.week AS week,
  uniqExact(a.customer_id) AS active, uniqExactIf(a.customer_id, a.purchased = 1) AS purchasing
FROM {db}.customer_activity_weekly{local} AS a
INNER JOIN site_first AS f ON a.customer_id = f.customer_id AND a.site = f.site
WHERE a.week >= f.cohort
GROUP BY site, cohort, week
UNION ALL
SELECT true AS all_sites, '' AS site, f.cohort AS cohort, a.week AS week,
  uniqExact(a.customer_id) AS active, uniqExactIf(a.customer_id, a.purchased = 1) AS purchasing
FROM {db}.customer_activity_weekly{local} AS a
INNER JOIN any_first AS f ON a.customer_id = f.customer_id
WHERE a.week >= f.cohort
GROUP BY cohort, week
SETTINGS max_threads = 1, os_threads_nice_value_query = 19;
