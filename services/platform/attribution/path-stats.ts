import { formatPath, type PathCount } from './channel-path.js';

export interface PathStat {
  path: string;
  journeys: number;
  conversions: number;
  dropoffs: number;
  /** conversions / journeys on this path. */
  conversionRate: number;
}

/**
 * The `limit` paths with the most conversions and the `limit` with the most drop-offs (journeys that
 * did not convert by the period's end); ties by more journeys, then by path text, so the answer is stable.
 */
export function topPaths(paths: readonly PathCount[], limit: number): { toConversion: PathStat[]; toDropoff: PathStat[] } {
  const stats = paths.map((p): PathStat => {
    const journeys = p.conversions + p.nulls;
    return { path: formatPath(p.channels), journeys, conversions: p.conversions, dropoffs: p.nulls, conversionRate: journeys > 0 ? p.conversions / journeys : 0 };
  });
  const top = (key: 'conversions' | 'dropoffs') =>
    stats
      .filter((s) => s[key] > 0)
      .sort((a, b) => b[key] - a[key] || b.journeys - a.journeys || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .slice(0, limit);
  return { toConversion: top('conversions'), toDropoff: top('dropoffs') };
}
