import type { ClickHouse } from '../platform/clickhouse/client.js';
import type { BreakdownCounts } from './core/detector.js';
import { ALL_SITES, type BreakdownDimension, type Monitor } from './core/monitors.js';

/**
 * Where the alerter reads its counts. Windows are [from, to) in epoch ms; `site` is a site name
 * or ALL_SITES ('*') for every site together.
 */
export interface WindowSource {
  counts(monitor: Monitor, site: string, from: number, to: number): Promise<WindowTotals>;
  /** Sites with any funnel or touchpoint data in [from, to). */
  sites(from: number, to: number): Promise<string[]>;
}

export interface WindowTotals {
  /** Conversion monitors: customers who could convert. Volume monitors: events. */
  readonly trials: number;
  /** Conversion monitors: those who did. Volume monitors: equal to trials (ignored). */
  readonly successes: number;
  /** One entry per value of each breakdown dimension the monitor asks for. */
  readonly breakdowns: BreakdownCounts[];
}

/** Breakdown values that are empty in ClickHouse ('' = no campaign) get a readable name. */
export const NO_VALUE = '(none)';

/** ClickHouse columns of each breakdown dimension: fixed identifiers, never user input. */
const FUNNEL_MINUTE_COLUMN: Record<BreakdownDimension, string> = { channel: 'channel', deviceType: 'device_type', campaign: 'campaign' };
const TOUCHPOINT_COLUMN: Record<BreakdownDimension, string> = { channel: 'channel', deviceType: 'device_type', campaign: "ifNull(utm_campaign, '')" };

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `ARRAY JOIN` over (dimension, value) pairs: one scan yields the total (dimension '') and every breakdown. */
function dimensionPairs(dimensions: readonly BreakdownDimension[], column: (d: BreakdownDimension) => string): string {
  const pairs = [`tuple('', '')`, ...dimensions.map((d) => `tuple('${d}', toString(${column(d)}))`)];
  return `[${pairs.join(', ')}]`;
}

const range = (column: string) =>
  `${column} >= fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC') AND ${column} < fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')`;
const siteCondition = (site: string) => (site === ALL_SITES ? '1' : 'site = {site:String}');

/**
 * Stage monitors read `funnel_minute`. The rate of step from → to in a window is over the outcomes
 * DECIDED in that window: trials = customers who left `from` in the window, by converting into
 * `to` (a `conversion` event) or by dropping off at `from` (a `dropoff` event: the conversion window
 * expired or they regressed); successes = those who converted. Both are unique customers (the uniq
 * states of funnel_minute), so a replayed event changes nothing. Why not entries: a customer who
 * entered `from` in the window usually converts in a LATER window, so an entry-based rate always
 * sags at the live edge; decided outcomes are complete once the window closes (plus lateness), and
 * it is the same rate as the dashboard's conversion-over-time chart. Breakdown values are those of
 * the touchpoint that brought the customer into `from` (what the stages service puts on both events).
 */
const STAGE_SQL = (db: string, pairs: string, site: string) => `
SELECT d.1 AS dimension, d.2 AS value,
  uniqMerge(customers) AS trials,
  uniqMergeIf(customers, kind = 'conversion') AS successes
FROM ${db}.funnel_minute
ARRAY JOIN ${pairs} AS d
WHERE ${siteCondition(site)} AND ${range('minute')}
  AND ((kind = 'conversion' AND from_stage = {from:String} AND stage = {to:String}) OR (kind = 'dropoff' AND stage = {from:String}))
GROUP BY dimension, value`;

/**
 * Funnel monitors read raw `touchpoints`: trials = customers who did step `from` in the window,
 * successes = those who did `to` AFTER it within the same window (windowFunnel over the window).
 * A customer whose `to` falls in the next window counts as not converted; that bias is the same in
 * every window, so the baseline absorbs it (it is why short windows give lower rates). Breakdown
 * values are those of the customer's first `from` touchpoint in the window.
 */
const FUNNEL_SQL = (db: string, pairs: string, site: string) => `
SELECT d.1 AS dimension, d.2 AS value, count() AS trials, countIf(level >= 2) AS successes
FROM (
  SELECT customer_id,
    windowFunnel({windowMs:UInt64})(toUInt64(toUnixTimestamp64Milli(ts)), event = {from:String}, event = {to:String}) AS level,
    argMinIf(channel, ts, event = {from:String}) AS channel,
    argMinIf(device_type, ts, event = {from:String}) AS device_type,
    argMinIf(ifNull(utm_campaign, ''), ts, event = {from:String}) AS campaign
  FROM ${db}.touchpoints
  WHERE ${siteCondition(site)} AND ${range('ts')} AND event IN ({from:String}, {to:String})
  GROUP BY customer_id
  HAVING level >= 1
)
ARRAY JOIN ${pairs} AS d
GROUP BY dimension, value`;

/** Volume monitors: touchpoints received from the monitor's sources (the collector's write-key source) in the window. */
const VOLUME_SQL = (db: string, pairs: string, site: string) => `
SELECT d.1 AS dimension, d.2 AS value, count() AS trials, count() AS successes
FROM ${db}.touchpoints
ARRAY JOIN ${pairs} AS d
WHERE ${siteCondition(site)} AND ${range('ts')} AND source IN {sources:Array(String)}
GROUP BY dimension, value`;

/**
 * Sites seen in [from, to): funnel_minute (one row per site and minute at most per dimension set)
 * and the weekly activity table, both sorted by site first, so neither read scans raw touchpoints.
 */
const SITES_SQL = (db: string) => `
SELECT site FROM ${db}.funnel_minute WHERE ${range('minute')} GROUP BY site
UNION DISTINCT
SELECT site FROM ${db}.customer_activity_weekly
WHERE week >= toMonday(fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC')) AND week <= toMonday(fromUnixTimestamp64Milli({toMs:Int64}, 'UTC'))
  AND ${range('last_seen')}
GROUP BY site`;

interface CountRow {
  dimension: string;
  value: string;
  trials: number | string;
  successes: number | string;
}

/** Rows → totals. Int64/UInt64 arrive as strings over HTTP and as numbers from chdb. */
export function toWindowTotals(rows: readonly CountRow[], dimensions: readonly BreakdownDimension[]): WindowTotals {
  let trials = 0;
  let successes = 0;
  const breakdowns: BreakdownCounts[] = [];
  for (const row of rows) {
    const t = Number(row.trials);
    // uniq is approximate in principle: never let successes exceed trials.
    const s = Math.min(t, Number(row.successes));
    if (row.dimension === '') {
      trials += t;
      successes += s;
    } else if ((dimensions as readonly string[]).includes(row.dimension)) {
      breakdowns.push({ dimension: row.dimension as BreakdownDimension, value: row.value === '' ? NO_VALUE : row.value, trials: t, successes: s });
    }
  }
  breakdowns.sort((a, b) => a.dimension.localeCompare(b.dimension) || a.value.localeCompare(b.value));
  return { trials, successes, breakdowns };
}

/**
 * The ClickHouse WindowSource. Every value travels as a `{name:Type}` parameter; only the database
 * name (validated as an identifier) and fixed column expressions are part of the SQL text.
 */
export function createClickHouseWindowSource(clickhouse: ClickHouse): WindowSource {
  const db = clickhouse.database;
  if (!IDENTIFIER.test(db)) throw new Error(`invalid database name: ${JSON.stringify(db)}`);
  const rows = async <T>(query: string, params: Record<string, unknown>): Promise<T[]> => {
    const rs = await clickhouse.client.query({ query, query_params: params, format: 'JSONEachRow' });
    return rs.json<T>();
  };
  return {
    async counts(monitor, site, from, to) {
      const base = { fromMs: from, toMs: to, ...(site === ALL_SITES ? {} : { site }) };
      if (monitor.kind === 'volume') {
        const pairs = dimensionPairs(monitor.breakdowns, (d) => TOUCHPOINT_COLUMN[d]);
        return toWindowTotals(await rows<CountRow>(VOLUME_SQL(db, pairs, site), { ...base, sources: monitor.sources }), monitor.breakdowns);
      }
      if (monitor.kind === 'stage') {
        const pairs = dimensionPairs(monitor.breakdowns, (d) => FUNNEL_MINUTE_COLUMN[d]);
        return toWindowTotals(await rows<CountRow>(STAGE_SQL(db, pairs, site), { ...base, from: monitor.from, to: monitor.to }), monitor.breakdowns);
      }
      // In the funnel query the breakdown columns are the subquery's aliases.
      const pairs = dimensionPairs(monitor.breakdowns, (d) => FUNNEL_MINUTE_COLUMN[d]);
      const params = { ...base, from: monitor.from, to: monitor.to, windowMs: Math.max(1, to - from) };
      return toWindowTotals(await rows<CountRow>(FUNNEL_SQL(db, pairs, site), params), monitor.breakdowns);
    },
    async sites(from, to) {
      const found = await rows<{ site: string }>(SITES_SQL(db), { fromMs: from, toMs: to });
      return [...new Set(found.map((r) => r.site))].sort();
    },
  };
}
