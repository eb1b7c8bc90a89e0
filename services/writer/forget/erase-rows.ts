import type { ClickHouse } from '../../platform/clickhouse/client.js';
import { DEFAULT_CONVERSION_EVENTS } from '../../platform/attribution/journey-paths.js';
import { refreshSnapshots } from '../../platform/clickhouse/snapshots.js';

/** Split namespaced ids the way each column stores them. */
export function idColumns(ids: readonly string[]) {
  const raw = (prefix: string) => ids.filter((id) => id.startsWith(prefix)).map((id) => id.slice(prefix.length));
  const userIds = raw('u:');
  const anonymousIds = raw('a:');
  return {
    customerIds: [...ids],
    userIds,
    anonymousIds,
    /** Dead letters are keyed as their topic is: raw device ids on `touchpoints`, customer ids after. */
    deadLetterKeys: [...new Set([...ids, ...userIds, ...anonymousIds])],
  };
}

/**
 * What each table loses, as `WHERE` predicates over `{ids}`, `{users}`, `{anonymous}`, `{keys}`.
 * Every table that names a customer is here; `funnel_minute` and `conversion_touchpoints_hourly`
 * (aggregate states, no customer column) are recomputed for the minutes and hours the customer
 * touched (eraseCustomerRows), `alerts` and `attribution_runs` (per channel) name no customer. The
 * MVs' targets (churn_score_history, customer_journey, customer_stage, customer_activity_weekly,
 * touchpoints_by_customer, customer_id_links, sessions_by_customer, stage_transitions_by_customer,
 * customer_summary) hold the customer's own
 * rows and lose them like any table. The snapshots (`SNAPSHOT_VIEWS`:
 * stage_counts, churn_ranked, cohort_retention, attribution_hourly, attribution_campaign_hourly) are
 * recomputed from the tables above once the rows are gone (eraseCustomerRows).
 */
export const CUSTOMER_TABLES: ReadonlyArray<{ table: string; where: string }> = [
  { table: 'touchpoints', where: 'customer_id IN {ids:Array(String)} OR user_id IN {users:Array(String)} OR anonymous_id IN {anonymous:Array(String)}' },
  { table: 'touchpoints_by_customer', where: 'customer_id IN {ids:Array(String)}' },
  { table: 'customer_id_links', where: 'id IN {ids:Array(String)} OR linked IN {ids:Array(String)}' },
  { table: 'sessions', where: 'customer_id IN {ids:Array(String)}' },
  { table: 'sessions_by_customer', where: 'customer_id IN {ids:Array(String)}' },
  { table: 'stage_transitions', where: 'customer_id IN {ids:Array(String)}' },
  { table: 'stage_transitions_by_customer', where: 'customer_id IN {ids:Array(String)}' },
  { table: 'funnel_events', where: 'customer_id IN {ids:Array(String)}' },
  { table: 'churn_scores', where: 'customer_id IN {ids:Array(String)}' },
  { table: 'churn_score_history', where: 'customer_id IN {ids:Array(String)}' },
  { table: 'customer_journey', where: 'customer_id IN {ids:Array(String)}' },
  { table: 'customer_summary', where: 'customer_id IN {ids:Array(String)}' },
  { table: 'customer_stage', where: 'customer_id IN {ids:Array(String)}' },
  { table: 'customer_activity_weekly', where: 'customer_id IN {ids:Array(String)}' },
  { table: 'attribution', where: 'customer_id IN {ids:Array(String)}' },
  { table: 'dead_letters', where: 'key IN {keys:Array(String)}' },
];

/**
 * The funnel_minute view's SELECT (migration 004), over the funnel events of some (site, minute)
 * keys, without the customer's own (`{ids}`): the minutes come out as if they had never been there,
 * whether or not their funnel events are deleted yet.
 */
const FUNNEL_MINUTE_RECOMPUTE = (db: string) => `
INSERT INTO ${db}.funnel_minute
SELECT
  toStartOfMinute(e.at) AS minute, e.site AS site, e.stage AS stage, e.kind AS kind,
  ifNull(toString(e.from_stage), '') AS from_stage, e.channel AS channel, e.device_type AS device_type,
  ifNull(e.campaign, '') AS campaign, ifNull(e.segment, '') AS segment,
  countState() AS events, uniqState(e.customer_id) AS customers,
  quantilesState(0.5, 0.75, 0.9, 0.95, 0.99)(e.seconds_to_convert) AS seconds_to_convert
FROM ${db}.funnel_events AS e FINAL
WHERE has({keys:Array(String)}, concat(e.site, '|', toString(toStartOfMinute(e.at)))) AND e.customer_id NOT IN {ids:Array(String)}
GROUP BY minute, site, stage, kind, from_stage, channel, device_type, campaign, segment`;

/** The customer's touchpoints (CUSTOMER_TABLES' predicate for `touchpoints`). */
const CUSTOMER_TOUCHPOINTS = CUSTOMER_TABLES.find((t) => t.table === 'touchpoints')!.where;

/**
 * The conversion_touchpoints_hourly view's SELECT (migration 030; its events are
 * DEFAULT_CONVERSION_EVENTS, hour-window.test.ts keeps the two equal) over some (site, hour) keys,
 * without the customer's touchpoints: the hours come out as if they had never been there. (The
 * predicate is NULL for a row whose anonymous or user id is NULL: ifNull keeps such a row.)
 */
const CONVERSION_HOURS_RECOMPUTE = (db: string) => `
INSERT INTO ${db}.conversion_touchpoints_hourly
SELECT t.site AS site, toStartOfHour(t.ts) AS hour, uniqExactState(t.message_id) AS message_ids
FROM ${db}.touchpoints AS t
WHERE has({keys:Array(String)}, concat(t.site, '|', toString(toStartOfHour(t.ts))))
  AND t.event IN {conversionEvents:Array(String)} AND NOT ifNull(${CUSTOMER_TOUCHPOINTS}, false)
GROUP BY site, hour`;

/**
 * Removes every row of the customer `ids` (namespaced) from every table, with lightweight DELETE
 * (a mask, applied at once to reads; parts are rewritten by later merges), and corrects
 * funnel_minute: the minutes the customer's funnel events fell in are deleted and recomputed from
 * the other customers' funnel events (FINAL, so each counts once). Another customer's referral of
 * this one (stage_transitions.referrer_customer_id) is blanked by a mutation. Last, the snapshots
 * are refreshed, so the customer leaves the pre-aggregated counts now rather than at their next
 * scheduled refresh. Returns the rows each table lost (read just before its DELETE).
 *
 * Idempotent, and safe to stop anywhere (a kill -9) and run again from the start: funnel_minute is
 * corrected first, while the customer's funnel events still say which minutes they touched (done
 * after their DELETE, a crash in between would leave those minutes uncorrected for good), and its
 * recompute leaves them out itself, so running it again gives the same minutes.
 *
 * Single node only (the statements name the tables, not `_local ON CLUSTER`: docs/clickhouse.md).
 */
export async function eraseCustomerRows(ch: ClickHouse, ids: readonly string[]): Promise<Record<string, number>> {
  const db = ch.database;
  const { customerIds, userIds, anonymousIds, deadLetterKeys } = idColumns(ids);
  const params = { ids: customerIds, users: userIds, anonymous: anonymousIds, keys: deadLetterKeys };
  const count = async (table: string, where: string, queryParams: Record<string, unknown> = params) => {
    const rs = await ch.client.query({ query: `SELECT count() AS n FROM ${db}.${table} WHERE ${where}`, query_params: queryParams, format: 'JSONEachRow' });
    return Number((await rs.json<{ n: number | string }>())[0]?.n ?? 0);
  };
  const deleted: Record<string, number> = {};

  const minutesRs = await ch.client.query({
    query: `SELECT DISTINCT concat(site, '|', toString(toStartOfMinute(at))) AS k FROM ${db}.funnel_events WHERE customer_id IN {ids:Array(String)}`,
    query_params: params,
    format: 'JSONEachRow',
  });
  const minuteKeys = (await minutesRs.json<{ k: string }>()).map((r) => r.k);
  if (minuteKeys.length > 0) {
    const keyed = { keys: minuteKeys, ids: customerIds };
    const where = `has({keys:Array(String)}, concat(site, '|', toString(minute)))`;
    deleted.funnel_minute = await count('funnel_minute', where, keyed);
    await ch.client.command({ query: `DELETE FROM ${db}.funnel_minute WHERE ${where}`, query_params: keyed });
    await ch.client.command({ query: FUNNEL_MINUTE_RECOMPUTE(db), query_params: keyed, clickhouse_settings: { insert_deduplication_token: '' } });
  }
  // Likewise the hours of the customer's conversion touchpoints (a set of message ids cannot lose one).
  const hoursRs = await ch.client.query({
    query: `SELECT DISTINCT concat(site, '|', toString(toStartOfHour(ts))) AS k FROM ${db}.touchpoints
            WHERE (${CUSTOMER_TOUCHPOINTS}) AND event IN {conversionEvents:Array(String)}`,
    query_params: { ...params, conversionEvents: [...DEFAULT_CONVERSION_EVENTS] },
    format: 'JSONEachRow',
  });
  const hourKeys = (await hoursRs.json<{ k: string }>()).map((r) => r.k);
  if (hourKeys.length > 0) {
    const keyed = { ...params, keys: hourKeys, conversionEvents: [...DEFAULT_CONVERSION_EVENTS] };
    const where = `has({keys:Array(String)}, concat(site, '|', toString(hour)))`;
    deleted.conversion_touchpoints_hourly = await count('conversion_touchpoints_hourly', where, keyed);
    await ch.client.command({ query: `DELETE FROM ${db}.conversion_touchpoints_hourly WHERE ${where}`, query_params: keyed });
    await ch.client.command({ query: CONVERSION_HOURS_RECOMPUTE(db), query_params: keyed, clickhouse_settings: { insert_deduplication_token: '' } });
  }
  for (const { table, where } of CUSTOMER_TABLES) {
    const n = await count(table, where);
    if (n > 0) await ch.client.command({ query: `DELETE FROM ${db}.${table} WHERE ${where}`, query_params: params });
    deleted[table] = n;
  }
  const referrals = await count('stage_transitions', 'referrer_customer_id IN {ids:Array(String)}');
  if (referrals > 0) {
    await ch.client.command({
      query: `ALTER TABLE ${db}.stage_transitions UPDATE referrer_customer_id = NULL WHERE referrer_customer_id IN {ids:Array(String)}`,
      query_params: params,
      clickhouse_settings: { mutations_sync: '2' },
    });
  }
  deleted.referrals_blanked = referrals;
  // After every DELETE: a refresh reads the tables as they are now (a crash before it leaves the
  // scheduled refresh to do the same within its interval).
  await refreshSnapshots(ch);
  return deleted;
}
