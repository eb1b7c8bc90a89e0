import type { BreakdownCounts, WindowCounts } from './core/detector.js';
import { ALL_SITES, type Monitor } from './core/monitors.js';
import type { WindowSource, WindowTotals } from './window-source.js';

const WEEK_MS = 7 * 24 * 60 * 60_000;

/** The sites a monitor evaluates: the ones it names, plus every discovered site when it watches ALL_SITES. */
export function sitesOfMonitor(monitor: Monitor, discovered: readonly string[]): string[] {
  const explicit = monitor.sites.filter((s) => s !== ALL_SITES);
  return monitor.sites.includes(ALL_SITES) ? [...new Set([...explicit, ...discovered])].sort() : explicit;
}

/**
 * One window of one monitor on one site as the detector takes it: the counts, and the same window a
 * week earlier when the monitor's baseline asks for it. Shared by the live service and the replay,
 * so both feed the detector the same numbers.
 */
export async function observeWindow(
  source: WindowSource,
  monitor: Monitor,
  site: string,
  w: { readonly start: number; readonly end: number },
): Promise<{ window: WindowCounts; breakdowns: BreakdownCounts[] }> {
  const current = await source.counts(monitor, site, w.start, w.end);
  let lastWeek: WindowTotals | null = null;
  if (monitor.settings.baseline.kind === 'sameWindowLastWeek') lastWeek = await source.counts(monitor, site, w.start - WEEK_MS, w.end - WEEK_MS);
  const window: WindowCounts = {
    at: w.start,
    trials: current.trials,
    successes: current.successes,
    ...(lastWeek ? { lastWeek: { trials: lastWeek.trials, successes: lastWeek.successes } } : {}),
  };
  const breakdowns = current.breakdowns.map((b): BreakdownCounts => {
    const before = lastWeek?.breakdowns.find((x) => x.dimension === b.dimension && x.value === b.value);
    return before ? { ...b, lastWeek: { trials: before.trials, successes: before.successes } } : b;
  });
  return { window, breakdowns };
}
