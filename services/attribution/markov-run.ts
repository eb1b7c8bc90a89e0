import type { ClickHouse } from '../platform/clickhouse/client.js';
import { chDateTime64 } from '../platform/clickhouse/rows.js';
import { journeyPathsFromRows, journeyPathsQuery, type JourneyPathFilter, type JourneyPathRow } from '../platform/attribution/journey-paths.js';
import { markovAttribution, type MarkovChannel } from '../platform/attribution/markov.js';

export interface MarkovRun {
  runId: string;
  computedAt: number;
  site: string | null;
  fromMs: number;
  toMs: number;
  channels: MarkovChannel[];
  totalConversions: number;
  totalNulls: number;
  unattributedConversions: number;
  distinctPaths: number;
  pathsUsed: number;
  maxSteps: number;
  /** Reading the paths from ClickHouse, and the Markov computation alone. */
  queryMs: number;
  computeMs: number;
}

export interface MarkovRunDeps {
  clickhouse: ClickHouse;
  now: () => number;
  newRunId: () => string;
}

/** Reads the period's journey paths, computes the Markov attribution and stores it in attribution_runs. */
export async function runMarkovAttribution(filter: JourneyPathFilter, deps: MarkovRunDeps): Promise<MarkovRun> {
  const { clickhouse: ch } = deps;
  const started = performance.now();
  const q = journeyPathsQuery(filter);
  const rs = await ch.client.query({
    query: q.sql.replaceAll('{db}', ch.database),
    query_params: q.params as Record<string, unknown>,
    format: 'JSONEachRow',
  });
  const journeys = journeyPathsFromRows(await rs.json<JourneyPathRow>());
  const queried = performance.now();
  const result = markovAttribution(journeys.paths);
  const computed = performance.now();
  const run: MarkovRun = {
    runId: deps.newRunId(),
    computedAt: deps.now(),
    site: filter.site ?? null,
    fromMs: filter.fromMs,
    toMs: filter.toMs,
    channels: [...result.channels].sort((a, b) => b.conversions - a.conversions),
    totalConversions: result.totalConversions,
    totalNulls: result.totalNulls,
    unattributedConversions: journeys.unattributedConversions,
    distinctPaths: journeys.distinctPaths,
    pathsUsed: journeys.paths.length,
    maxSteps: result.maxSteps,
    queryMs: queried - started,
    computeMs: computed - queried,
  };
  if (run.channels.length > 0) {
    await ch.client.insert({
      table: `${ch.database}.attribution_runs`,
      values: markovRunRows(run),
      format: 'JSONEachRow',
      // Embedded chdb keeps settings for the session: always say there is no token (docs/clickhouse.md).
      clickhouse_settings: { insert_deduplication_token: '' },
    });
  }
  return run;
}

/** The run's rows of attribution_runs (migrations/011_attribution_runs.sql), one per channel. */
export function markovRunRows(run: MarkovRun) {
  return run.channels.map((c) => ({
    run_id: run.runId,
    computed_at: chDateTime64(run.computedAt),
    site: run.site ?? '',
    period_from: chDateTime64(run.fromMs),
    period_to: chDateTime64(run.toMs),
    model: 'markov',
    channel: c.channel,
    removal_effect: c.removalEffect,
    conversions: c.conversions,
    share: c.share,
    total_conversions: run.totalConversions,
    total_null: run.totalNulls,
    unattributed_conversions: run.unattributedConversions,
    distinct_paths: run.distinctPaths,
    paths_used: run.pathsUsed,
    max_steps: run.maxSteps,
    duration_ms: Math.round(run.queryMs + run.computeMs),
  }));
}
