import {
  DEFAULT_CONVERSION_EVENTS,
  DEFAULT_IGNORED_CHANNELS,
  DEFAULT_MAX_PATH_TOUCHES,
  journeyPathsFromRows,
  journeyPathsQuery,
  type JourneyPathRow,
} from '../../platform/attribution/journey-paths.js';
import type { HeuristicModel } from '../../platform/attribution/heuristic.js';
import { hourWindow } from '../../platform/attribution/hour-window.js';
import { markovAttribution } from '../../platform/attribution/markov.js';
import type { Window } from '../params.js';
import type { QueryParams, QueryRunner } from '../runner.js';
import { iso } from './window.js';

export type AttributionModel = HeuristicModel | 'markov';
export type Breakdown = 'channel' | 'campaign';

/** Bound of one query-time Markov computation. */
export const MAX_QUERY_TIME_PATHS = 100_000;
const NO_CAMPAIGN = '(none)';

export interface CreditRow {
  key: string;
  conversions: number;
  share: number;
  revenue: number | null;
}

export interface ModelResult {
  model: AttributionModel;
  source: 'stored_run' | 'query_time' | 'journey_step';
  runId: string | null;
  computedAt: string | null;
  conversions: number;
  unattributedConversions: number;
  /** The bound was hit: the result covers part of the period (the first customers by id). */
  truncated: boolean;
  rows: CreditRow[];
}

export interface AttributionResult {
  from: string;
  to: string;
  site: string | null;
  breakdown: Breakdown;
  models: ModelResult[];
}

const FILTER = { conversionEvents: DEFAULT_CONVERSION_EVENTS, ignoredChannels: DEFAULT_IGNORED_CHANNELS };

function rowsOf(totals: Map<string, { conversions: number; revenue: number | null }>, total: number): CreditRow[] {
  return [...totals.entries()]
    .map(([key, t]) => ({ key, conversions: t.conversions, share: total > 0 ? t.conversions / total : 0, revenue: t.revenue }))
    .sort((a, b) => b.conversions - a.conversions || (a.key < b.key ? -1 : 1));
}

interface CreditSumRow {
  model: HeuristicModel;
  key: string;
  conversions: number;
  revenue: number | null;
}

/**
 * Heuristic credit per channel (or campaign) of the conversions in the whole hours [w.fromMs, w.toMs),
 * from attribution_hourly or attribution_campaign_hourly (migration 030): the journey step's rows in `attribution` summed per hour
 * with FINAL (each row's newest version, so a correction replaces what it corrects), as of the
 * snapshot's last refresh. Conversions without a touch have no rows: they are the period's
 * conversion touchpoints less the attributed ones, both counted per hour in
 * attribution_conversions_hourly (migration 031), refreshed with the credit.
 */
async function journeyStepHeuristics(db: QueryRunner, w: Window, site: string | undefined, models: readonly HeuristicModel[], breakdown: Breakdown): Promise<ModelResult[]> {
  const siteCondition = site === undefined ? '' : 'AND site = {site:String}';
  const params: QueryParams = { fromMs: w.fromMs, toMs: w.toMs, models: [...models], ...(site === undefined ? {} : { site }) };
  const [key, table] = breakdown === 'channel' ? ['channel', 'attribution_hourly'] : [`ifNull(campaign, '${NO_CAMPAIGN}')`, 'attribution_campaign_hourly'];
  const period = `hour >= toDateTime(intDiv({fromMs:Int64}, 1000), 'UTC') AND hour < toDateTime(intDiv({toMs:Int64}, 1000), 'UTC') ${siteCondition}`;
  const [sums, counts] = await Promise.all([
    db.rows<CreditSumRow>(
      'attribution',
      `SELECT model, ${key} AS key, sum(credit) AS conversions, sum(revenue) AS revenue
FROM {db}.${table}
WHERE ${period} AND model IN {models:Array(String)}
GROUP BY model, key
HAVING conversions > 0`,
      params,
    ),
    db.rows<{ attributed: string | number; total: string | number }>(
      'attribution',
      `SELECT sum(attributed) AS attributed, sum(conversions) AS total FROM {db}.attribution_conversions_hourly WHERE ${period}`,
      params,
    ),
  ]);
  const attributed = Number(counts[0]?.attributed ?? 0);
  const unattributed = Math.max(0, Number(counts[0]?.total ?? 0) - attributed);
  return models.map((model) => {
    const totals = new Map<string, { conversions: number; revenue: number | null }>();
    for (const r of sums) if (r.model === model) totals.set(r.key, { conversions: Number(r.conversions), revenue: r.revenue === null ? null : Number(r.revenue) });
    return { model, source: 'journey_step', runId: null, computedAt: null, conversions: attributed, unattributedConversions: unattributed, truncated: false, rows: rowsOf(totals, attributed) };
  });
}

interface StoredRunRow {
  run_id: string;
  computed_at: string;
  channel: string;
  conversions: number;
  share: number;
  total_conversions: string | number;
  unattributed_conversions: string | number;
}

/** The newest stored Markov run of exactly this site ('' = all) and period, or null. */
async function storedMarkovRun(db: QueryRunner, w: Window, site: string | undefined): Promise<ModelResult | null> {
  const rows = await db.rows<StoredRunRow>(
    'attribution',
    `SELECT run_id, toString(computed_at) AS computed_at, channel, conversions, share, total_conversions, unattributed_conversions
FROM {db}.attribution_runs FINAL
WHERE site = {site:String} AND model = 'markov'
  AND period_from = fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC') AND period_to = fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')
  AND run_id = (SELECT argMax(run_id, computed_at) FROM {db}.attribution_runs
                WHERE site = {site:String} AND model = 'markov'
                  AND period_from = fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC') AND period_to = fromUnixTimestamp64Milli({toMs:Int64}, 'UTC'))
ORDER BY conversions DESC, channel`,
    { site: site ?? '', fromMs: w.fromMs, toMs: w.toMs },
  );
  const first = rows[0];
  if (first === undefined) return null;
  return {
    model: 'markov',
    source: 'stored_run',
    runId: first.run_id,
    computedAt: `${first.computed_at.replace(' ', 'T')}Z`,
    conversions: Number(first.total_conversions),
    unattributedConversions: Number(first.unattributed_conversions),
    truncated: false,
    rows: rows.map((r) => ({ key: r.channel, conversions: r.conversions, share: r.share, revenue: null })),
  };
}

async function queryTimeMarkov(db: QueryRunner, w: Window, site: string | undefined): Promise<ModelResult> {
  const q = journeyPathsQuery({ ...FILTER, fromMs: w.fromMs, toMs: w.toMs, site, maxTouches: DEFAULT_MAX_PATH_TOUCHES, maxPaths: MAX_QUERY_TIME_PATHS });
  const journeys = journeyPathsFromRows(await db.rows<JourneyPathRow>('attribution', q.sql, q.params as QueryParams));
  const r = markovAttribution(journeys.paths);
  return {
    model: 'markov',
    source: 'query_time',
    runId: null,
    computedAt: null,
    conversions: r.totalConversions,
    unattributedConversions: journeys.unattributedConversions,
    truncated: journeys.distinctPaths > journeys.paths.length + (journeys.unattributedConversions > 0 ? 1 : 0),
    rows: r.channels.map((c) => ({ key: c.channel, conversions: c.conversions, share: c.share, revenue: null })).sort((a, b) => b.conversions - a.conversions || (a.key < b.key ? -1 : 1)),
  };
}

/**
 * Credit per channel (or campaign) under each requested model, for the whole UTC hours covering the
 * asked period (the result's `from` and `to`). Heuristic models: the journey step's
 * rows in `attribution` (each conversion credited as it happened, corrected by late touches and
 * identity merges). Markov (channels only): the newest stored run of exactly this site and period,
 * else computed at query time over the window's journeys.
 */
export async function attribution(db: QueryRunner, w: Window, site: string | undefined, models: readonly AttributionModel[], breakdown: Breakdown): Promise<AttributionResult> {
  // Read by the hour of conversion: the answer is for the whole UTC hours covering the asked period.
  w = hourWindow(w);
  const heuristic = models.filter((m): m is HeuristicModel => m !== 'markov');
  // The heuristic and the Markov reads are independent: side by side.
  const markov = async (): Promise<ModelResult[]> => (models.includes('markov') ? [(await storedMarkovRun(db, w, site)) ?? (await queryTimeMarkov(db, w, site))] : []);
  const [heuristics, markovResults] = await Promise.all([heuristic.length > 0 ? journeyStepHeuristics(db, w, site, heuristic, breakdown) : [], markov()]);
  const results: ModelResult[] = [...heuristics, ...markovResults];
  const order = (m: AttributionModel) => models.indexOf(m);
  results.sort((a, b) => order(a.model) - order(b.model));
  return { from: iso(w.fromMs), to: iso(w.toMs), site: site ?? null, breakdown, models: results };
}
