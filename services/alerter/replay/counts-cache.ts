import { z } from 'zod';
import { BreakdownDimension, type Monitor } from '../core/monitors.js';
import type { WindowSource, WindowTotals } from '../window-source.js';

/**
 * The counts a replay read, kept so the next replay over the same data reads none
 * (`npm run replay-alerts -- --counts-cache FILE`). Reading a 90-day history's 23,749 monitor
 * windows from chDB took 6 minutes at loads 15–24; a detector change replayed on the cached
 * counts took 6 s. The detector never sees where counts came from, so a replay on cached counts
 * is the same replay.
 *
 * The cache belongs to one dataset: it records the touchpoints' time range and count, and a cache
 * of other data is ignored (a re-import changes the counts behind the same window keys).
 */
const Totals = z.object({
  trials: z.number(),
  successes: z.number(),
  breakdowns: z.array(z.object({ dimension: BreakdownDimension, value: z.string(), trials: z.number(), successes: z.number() })),
});
const Dataset = z.object({ from: z.number(), to: z.number(), touchpoints: z.number() });
export type Dataset = z.infer<typeof Dataset>;
const CacheFile = z.object({ version: z.literal(1), dataset: Dataset, counts: z.record(z.string(), Totals), sites: z.record(z.string(), z.array(z.string())) });

export interface CountsCache {
  readonly dataset: Dataset;
  readonly counts: Map<string, WindowTotals>;
  readonly sites: Map<string, string[]>;
}

/** The cache in `text` when it is of `dataset`; else (absent, another dataset, unreadable) an empty one. */
export function loadCountsCache(text: string | null, dataset: Dataset): CountsCache {
  const empty = { dataset, counts: new Map(), sites: new Map() };
  if (text === null) return empty;
  let parsed;
  try {
    parsed = CacheFile.safeParse(JSON.parse(text));
  } catch {
    return empty;
  }
  if (!parsed.success) return empty;
  const d = parsed.data.dataset;
  if (d.from !== dataset.from || d.to !== dataset.to || d.touchpoints !== dataset.touchpoints) return empty;
  return { dataset, counts: new Map(Object.entries(parsed.data.counts)), sites: new Map(Object.entries(parsed.data.sites)) };
}

export const serializeCountsCache = (cache: CountsCache): string =>
  JSON.stringify({ version: 1, dataset: cache.dataset, counts: Object.fromEntries(cache.counts), sites: Object.fromEntries(cache.sites) });

/**
 * What a monitor's query depends on (not its id nor its detector settings, which the counts do not).
 * A one-source volume monitor keeps the key it had before monitors could combine sources.
 */
function queryKey(m: Monitor, site: string, from: number, to: number): string {
  const what = m.kind === 'volume' ? [m.kind, ...m.sources] : [m.kind, m.from, m.to];
  return JSON.stringify([...what, [...m.breakdowns].sort(), site, from, to]);
}

/** `source` answered from `cache` where it can; every answer it has to read is added to it. */
export function cachedWindowSource(source: WindowSource, cache: CountsCache): WindowSource & { readonly reads: () => number } {
  let reads = 0;
  return {
    reads: () => reads,
    async counts(monitor, site, from, to) {
      const key = queryKey(monitor, site, from, to);
      const hit = cache.counts.get(key);
      if (hit !== undefined) return hit;
      reads++;
      const totals = await source.counts(monitor, site, from, to);
      cache.counts.set(key, totals);
      return totals;
    },
    async sites(from, to) {
      const key = `${from}:${to}`;
      const hit = cache.sites.get(key);
      if (hit !== undefined) return hit;
      reads++;
      const sites = await source.sites(from, to);
      cache.sites.set(key, sites);
      return sites;
    },
  };
}
