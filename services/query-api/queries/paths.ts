import { DEFAULT_CONVERSION_EVENTS, DEFAULT_IGNORED_CHANNELS, DEFAULT_MAX_PATH_TOUCHES, journeyPathsFromRows, journeyPathsQuery, type JourneyPathRow } from '../../platform/attribution/journey-paths.js';
import { topPaths, type PathStat } from '../../platform/attribution/path-stats.js';
import type { Window } from '../params.js';
import type { QueryParams, QueryRunner } from '../runner.js';
import { MAX_QUERY_TIME_PATHS } from './attribution.js';
import { iso } from './window.js';

export interface PathsResult {
  from: string;
  to: string;
  site: string | null;
  journeys: number;
  conversions: number;
  unattributedConversions: number;
  distinctPaths: number;
  toConversion: PathStat[];
  toDropoff: PathStat[];
}

/** The most common channel paths to a conversion and to a drop-off in the window (journey paths as the Markov run reads them). */
export async function paths(db: QueryRunner, w: Window, site: string | undefined, limit: number): Promise<PathsResult> {
  const q = journeyPathsQuery({
    fromMs: w.fromMs,
    toMs: w.toMs,
    site,
    conversionEvents: DEFAULT_CONVERSION_EVENTS,
    ignoredChannels: DEFAULT_IGNORED_CHANNELS,
    maxTouches: DEFAULT_MAX_PATH_TOUCHES,
    maxPaths: MAX_QUERY_TIME_PATHS,
  });
  const journeys = journeyPathsFromRows(await db.rows<JourneyPathRow>('paths', q.sql, q.params as QueryParams));
  const conversions = journeys.paths.reduce((a, p) => a + p.conversions, 0);
  const nulls = journeys.paths.reduce((a, p) => a + p.nulls, 0);
  return {
    from: iso(w.fromMs),
    to: iso(w.toMs),
    site: site ?? null,
    journeys: conversions + nulls,
    conversions,
    unattributedConversions: journeys.unattributedConversions,
    distinctPaths: journeys.distinctPaths,
    ...topPaths(journeys.paths, limit),
  };
}
