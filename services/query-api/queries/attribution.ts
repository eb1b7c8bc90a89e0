import {
  DEFAULT_CONVERSION_EVENTS,
  DEFAULT_IGNORED_CHANNELS,
  DEFAULT_MAX_PATH_TOUCHES,
  conversionJourneysQuery,
  journeyPathsFromRows,
  journeyPathsQuery,
  type ConversionJourneyRow,
  type JourneyPathRow,
} from '../../platform/attribution/journey-paths.js';
import { DEFAULT_HEURISTIC_OPTIONS, heuristicCredit, type HeuristicModel, type Touch } from '../../platform/attribution/heuristic.js';
import { markovAttribution } from '../../platform/attribution/markov.js';
import type { Window } from '../params.js';
import type { QueryParams, QueryRunner } from '../runner.js';
import { iso } from './window.js';

export type AttributionModel = HeuristicModel | 'markov';
export type Breakdown = 'channel' | 'campaign';

/** Bounds of one query-time computation. */
export const MAX_CONVERTING_CUSTOMERS = 50_000;
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
  source: 'stored_run' | 'query_time';
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

/**
 * Heuristic credit of every conversion in [w.fromMs, w.toMs), summed per channel or campaign (pure).
 * `journeys` holds each converting customer's steps from the window's start less the lookback.
 */
export function heuristicTotals(journeys: readonly ConversionJourneyRow[], w: Window, models: readonly HeuristicModel[], breakdown: Breakdown) {
  const totals = new Map(models.map((m) => [m, new Map<string, { conversions: number; revenue: number | null }>()]));
  let conversions = 0;
  let unattributed = 0;
  for (const j of journeys) {
    const touches: Touch[] = [];
    const orders: { id: string; at: number; revenue: number | null }[] = [];
    for (const [at, messageId, isConversion, channel, campaign, revenue] of j.steps) {
      const ms = Number(at);
      if (isConversion === true || isConversion === 1) {
        if (ms >= w.fromMs && ms < w.toMs) orders.push({ id: messageId, at: ms, revenue });
      } else touches.push({ messageId, channel, campaign, at: ms });
    }
    for (const order of orders) {
      conversions++;
      for (const model of models) {
        const credits = heuristicCredit(model, order, touches, DEFAULT_HEURISTIC_OPTIONS);
        if (credits.length === 0) {
          if (model === models[0]) unattributed++;
          continue;
        }
        const byKey = totals.get(model)!;
        for (const c of credits) {
          if (c.credit === 0) continue;
          const key = breakdown === 'channel' ? c.touch.channel : (c.touch.campaign ?? NO_CAMPAIGN);
          const t = byKey.get(key) ?? { conversions: 0, revenue: null };
          t.conversions += c.credit;
          if (c.revenueShare !== null) t.revenue = (t.revenue ?? 0) + c.revenueShare;
          byKey.set(key, t);
        }
      }
    }
  }
  const attributed = conversions - unattributed;
  return { conversions: attributed, unattributed, rows: new Map(models.map((m) => [m, rowsOf(totals.get(m)!, attributed)])) };
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
 * Credit per channel (or campaign) under each requested model. Heuristic models: computed at query
 * time from touchpoints (each conversion in the window, its touches within the 30-day lookback).
 * Markov (channels only): the newest stored run of exactly this site and period, else computed at
 * query time over the window's journeys.
 */
export async function attribution(db: QueryRunner, w: Window, site: string | undefined, models: readonly AttributionModel[], breakdown: Breakdown): Promise<AttributionResult> {
  const results: ModelResult[] = [];
  const heuristic = models.filter((m): m is HeuristicModel => m !== 'markov');
  if (heuristic.length > 0) {
    const q = conversionJourneysQuery({
      ...FILTER,
      fromMs: w.fromMs - DEFAULT_HEURISTIC_OPTIONS.lookbackMs,
      conversionsFromMs: w.fromMs,
      toMs: w.toMs,
      site,
      maxCustomers: MAX_CONVERTING_CUSTOMERS,
    });
    const journeys = await db.rows<ConversionJourneyRow>('attribution', q.sql, q.params as QueryParams);
    const totals = heuristicTotals(journeys, w, heuristic, breakdown);
    for (const model of heuristic) {
      results.push({
        model,
        source: 'query_time',
        runId: null,
        computedAt: null,
        conversions: totals.conversions,
        unattributedConversions: totals.unattributed,
        truncated: journeys.length >= MAX_CONVERTING_CUSTOMERS,
        rows: totals.rows.get(model)!,
      });
    }
  }
  if (models.includes('markov')) results.push((await storedMarkovRun(db, w, site)) ?? (await queryTimeMarkov(db, w, site)));
  const order = (m: AttributionModel) => models.indexOf(m);
  results.sort((a, b) => order(a.model) - order(b.model));
  return { from: iso(w.fromMs), to: iso(w.toMs), site: site ?? null, breakdown, models: results };
}
