import { describe, expect, it } from 'vitest';
import { parseMonitors, type Monitor } from '../core/monitors.js';
import type { WindowSource, WindowTotals } from '../window-source.js';
import { cachedWindowSource, loadCountsCache, serializeCountsCache, type Dataset } from './counts-cache.js';
import { replayAlerts } from './replay.js';

const HOUR = 60 * 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0);
const dataset: Dataset = { from: T0, to: T0 + 48 * HOUR, touchpoints: 12_345 };

const monitors = parseMonitors(
  `version: 1
defaults: { windowMinutes: 60, minSample: 50, warmupWindows: 6 }
monitors:
  - { id: checkout, kind: funnel, steps: [Product Added, Checkout Started], breakdowns: [deviceType] }
  - { id: tracking, kind: volume, sources: [web] }
`,
  'test.yaml',
);

/** 200 customers an hour, half convert (a drop at hours 30-33); 400 web events an hour; counts every read. */
function countingSource(): WindowSource & { reads: number } {
  const source = {
    reads: 0,
    async counts(monitor: Monitor, _site: string, from: number): Promise<WindowTotals> {
      source.reads++;
      const hour = (from - T0) / HOUR;
      if (monitor.kind === 'volume') return { trials: 400 + (hour % 7), successes: 400 + (hour % 7), breakdowns: [] };
      const successes = hour >= 30 && hour < 34 ? 20 : 100 + (hour % 5);
      return { trials: 200, successes, breakdowns: [{ dimension: 'deviceType', value: 'mobile', trials: 120, successes: Math.round(successes * 0.6) }] };
    },
    async sites() {
      source.reads++;
      return ['shop'];
    },
  };
  return source;
}

const replay = (source: WindowSource) => replayAlerts({ source, monitors, from: dataset.from, to: dataset.to });

describe('replay counts cache', () => {
  it('replays from the cache of the same dataset without reading, with the same alerts and verdicts', async () => {
    const first = countingSource();
    const cache = loadCountsCache(null, dataset);
    const cold = await replay(cachedWindowSource(first, cache));
    expect(first.reads).toBe(48 * 2 + 3); // every window of both monitors, and the sites of each day a window ends in
    expect(cold.alerts.filter((a) => a.status === 'firing')).toHaveLength(1);

    const second = countingSource();
    const cached = cachedWindowSource(second, loadCountsCache(serializeCountsCache(cache), dataset));
    const warm = await replay(cached);
    expect(second.reads).toBe(0);
    expect(cached.reads()).toBe(0);
    expect(warm).toEqual(cold);
  });

  it('keeps one-source volume keys as they were (caches written before sources could combine still hit), and keys combined sources apart', async () => {
    const [, web] = monitors as [Monitor, Monitor];
    const before = { trials: 7, successes: 7, breakdowns: [] };
    const key = JSON.stringify(['volume', 'web', [], 'shop', T0, T0 + HOUR]);
    const text = JSON.stringify({ version: 1, dataset, counts: { [key]: before }, sites: {} });
    const source = countingSource();
    const cached = cachedWindowSource(source, loadCountsCache(text, dataset));
    expect(await cached.counts(web, 'shop', T0, T0 + HOUR)).toEqual(before);
    const [both] = parseMonitors('version: 1\nmonitors:\n  - { id: site, kind: volume, sources: [web, ios], combineSources: true }\n', 'm.yaml') as [Monitor];
    await cached.counts(both, 'shop', T0, T0 + HOUR);
    expect(source.reads).toBe(1);
  });

  it('ignores a cache of other data, and an unreadable one', async () => {
    const cache = loadCountsCache(null, dataset);
    await replay(cachedWindowSource(countingSource(), cache));
    const text = serializeCountsCache(cache);
    expect(loadCountsCache(text, dataset).counts.size).toBe(48 * 2);
    expect(loadCountsCache(text, { ...dataset, touchpoints: dataset.touchpoints + 1 }).counts.size).toBe(0);
    expect(loadCountsCache(text, { ...dataset, to: dataset.to + 1 }).counts.size).toBe(0);
    expect(loadCountsCache('{"version":1', dataset).counts.size).toBe(0);
    expect(loadCountsCache('{"version":2}', dataset).counts.size).toBe(0);
  });
});
