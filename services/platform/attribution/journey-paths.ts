import { collapseRepeats, parsePath, type PathCount } from './channel-path.js';

/**
 * Channel paths of journeys, read from `touchpoints` (the one definition the Markov run, /api/paths
 * and /api/attribution share):
 *
 * - a journey belongs to the stitched customer: a row's anonymous id resolves to the customer id of
 *   that anonymous id's newest row in the period, so the anonymous touches before a login count with
 *   the purchase after it (raw rows keep the id they were processed under);
 * - a touch is a touchpoint in [from, to) whose channel is not ignored (default `web`, in-site
 *   navigation, and `other`, server calls: neither brought the customer) and that is not a conversion;
 * - a conversion is a touchpoint whose event is a conversion event (default Order Completed,
 *   Contract Signed), or one that made its customer enter a conversion stage (default none: the
 *   journey step's transition for that touchpoint in `stage_transitions`, same message id);
 * - a customer's touches in time order are cut after each conversion: each conversion closes a
 *   converting path of the touches since the customer's previous conversion in the period (or since
 *   its start); the touches after the last conversion, up to the period's end, are a non-converting
 *   path. Repeats of a channel in a row are folded; a path keeps its latest `maxTouches` touches;
 * - a conversion with no touch before it in the period is counted apart (unattributed).
 *
 * Paths are aggregated in ClickHouse; the `maxPaths` most frequent come back, with how many
 * distinct ones there were.
 */
export interface JourneyPathFilter {
  fromMs: number;
  toMs: number;
  site?: string | undefined;
  conversionEvents: readonly string[];
  /** Stages whose entry is a conversion (absent: none). */
  conversionStages?: readonly string[] | undefined;
  ignoredChannels: readonly string[];
  /** Touches kept per path (the latest). */
  maxTouches: number;
  /** Distinct paths returned (the most frequent). */
  maxPaths: number;
}

export const DEFAULT_CONVERSION_EVENTS: readonly string[] = ['Order Completed', 'Contract Signed'];
export const DEFAULT_IGNORED_CHANNELS: readonly string[] = ['web', 'other'];
export const DEFAULT_MAX_PATH_TOUCHES = 32;

export type PathParams = Record<string, string | number | readonly string[]>;

/** The SQL (tables as `{db}.name`) and its bound parameters. */
/**
 * The CTEs `stitched` (anonymous id → its newest customer id) and `steps` (touches and conversions
 * of stitched customers in [{fromMs}, {toMs}), optionally one {site}).
 */
function stepsCte(site: string | undefined, byStage: boolean): string {
  const siteCondition = site === undefined ? '' : 'AND site = {site:String}';
  const period = `ts >= fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC') AND ts < fromUnixTimestamp64Milli({toMs:Int64}, 'UTC') ${siteCondition}`;
  // A transition carries its touchpoint's site and a time at or after the touchpoint's (a late one
  // enters at the customer's newest time): bounded below by the period's start, never above.
  const stageEntry = byStage
    ? ` OR t.message_id IN (SELECT message_id FROM {db}.stage_transitions
           WHERE to_stage IN {conversionStages:Array(String)} AND message_id != ''
             AND at >= fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC') ${siteCondition})`
    : '';
  return `stitched AS (
  SELECT assumeNotNull(anonymous_id) AS anonymous_id, argMax(customer_id, ts) AS survivor
  FROM {db}.touchpoints
  WHERE ${period} AND anonymous_id IS NOT NULL
  GROUP BY anonymous_id
),
steps AS (
  SELECT if(t.anonymous_id IS NULL OR s.survivor = '', t.customer_id, s.survivor) AS customer,
         t.ts AS ts, t.message_id AS message_id, t.channel AS channel, t.utm_campaign AS campaign, t.revenue AS revenue,
         (t.event IN {conversionEvents:Array(String)}${stageEntry}) AS is_conversion
  FROM (SELECT * FROM {db}.touchpoints FINAL WHERE ${period}) AS t
  LEFT JOIN stitched AS s ON s.anonymous_id = ifNull(t.anonymous_id, '')
  WHERE is_conversion OR t.channel NOT IN {ignoredChannels:Array(String)}
)`;
}

type BaseFilter = Pick<JourneyPathFilter, 'fromMs' | 'toMs' | 'site' | 'conversionEvents' | 'conversionStages' | 'ignoredChannels'>;
const byStage = (f: BaseFilter): boolean => (f.conversionStages?.length ?? 0) > 0;
const baseParams = (f: BaseFilter): PathParams => ({
  fromMs: f.fromMs,
  toMs: f.toMs,
  ...(f.site === undefined ? {} : { site: f.site }),
  conversionEvents: f.conversionEvents,
  ...(byStage(f) ? { conversionStages: f.conversionStages! } : {}),
  ignoredChannels: f.ignoredChannels,
});

/** The SQL (tables as `{db}.name`) and its bound parameters. */
export function journeyPathsQuery(f: JourneyPathFilter): { sql: string; params: PathParams } {
  const sql = `
WITH ${stepsCte(f.site, byStage(f))},
chunks AS (
  SELECT arrayJoin(arrayReverseSplit(x -> x.3, arraySort(x -> (x.1, x.3, x.2), groupArray((ts, message_id, is_conversion, channel))))) AS chunk
  FROM steps
  GROUP BY customer
),
paths AS (
  SELECT chunk[-1].3 AS converted,
         arrayMap(x -> x.4, arrayFilter(x -> NOT x.3, chunk)) AS raw,
         arrayFilter((c, i) -> i = 1 OR c != raw[i - 1], raw, arrayEnumerate(raw)) AS folded,
         if(length(folded) > {maxTouches:UInt16}, arraySlice(folded, -{maxTouches:UInt16}), folded) AS channels
  FROM chunks
)
SELECT arrayStringConcat(channels, ' > ') AS path,
       countIf(converted) AS conversions,
       countIf(NOT converted) AS nulls,
       count() OVER () AS distinct_paths
FROM paths
GROUP BY path
ORDER BY conversions + nulls DESC, path
LIMIT {maxPaths:UInt32}`;
  return { sql, params: { ...baseParams(f), maxTouches: f.maxTouches, maxPaths: f.maxPaths } };
}

/**
 * Per stitched customer with a conversion in [conversionsFromMs, toMs): every touch and conversion
 * from `fromMs` (the conversion window's start less the lookback) on, in time order, for the
 * heuristic models at query time. At most `maxCustomers` customers (by id), so one query is bounded.
 */
export function conversionJourneysQuery(
  f: BaseFilter & { conversionsFromMs: number; maxCustomers: number },
): { sql: string; params: PathParams } {
  const sql = `
WITH ${stepsCte(f.site, byStage(f))}
SELECT customer,
       arraySort(x -> (x.1, x.2), groupArray((toUnixTimestamp64Milli(ts), message_id, is_conversion, channel, campaign, revenue))) AS steps
FROM steps
GROUP BY customer
HAVING countIf(is_conversion AND ts >= fromUnixTimestamp64Milli({conversionsFromMs:Int64}, 'UTC')) > 0
ORDER BY customer
LIMIT {maxCustomers:UInt32}`;
  return { sql, params: { ...baseParams(f), conversionsFromMs: f.conversionsFromMs, maxCustomers: f.maxCustomers } };
}

export type ConversionJourneyStep = [at: string | number, messageId: string, isConversion: boolean | number, channel: string, campaign: string | null, revenue: number | null];
export interface ConversionJourneyRow {
  customer: string;
  steps: ConversionJourneyStep[];
}
export interface JourneyPathRow {
  path: string;
  conversions: string | number;
  nulls: string | number;
  distinct_paths: string | number;
}

export interface JourneyPaths {
  paths: PathCount[];
  /** Conversions with no touch before them in the period (the empty path). */
  unattributedConversions: number;
  /** Distinct paths in the period, the empty one included; more than came back when over maxPaths. */
  distinctPaths: number;
}

/** The query's rows as path counts (pure). */
export function journeyPathsFromRows(rows: readonly JourneyPathRow[]): JourneyPaths {
  let unattributedConversions = 0;
  const paths: PathCount[] = [];
  for (const r of rows) {
    const channels = collapseRepeats(parsePath(r.path));
    if (channels.length === 0) unattributedConversions += Number(r.conversions);
    else paths.push({ channels, conversions: Number(r.conversions), nulls: Number(r.nulls) });
  }
  return { paths, unattributedConversions, distinctPaths: Number(rows[0]?.distinct_paths ?? 0) };
}
