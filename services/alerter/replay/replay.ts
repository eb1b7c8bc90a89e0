import { evaluateSeries, emptyDetectorState, type AlertDecision, type DetectorState, type Verdict } from '../core/detector.js';
import { ALL_SITES, type Monitor } from '../core/monitors.js';
import { observeWindow, sitesOfMonitor } from '../observe.js';
import { alignDown, planRound, stepMsOf, windowMsOf } from '../schedule.js';
import type { WindowSource } from '../window-source.js';

const DAY_MS = 24 * 60 * 60_000;

export interface ReplayOptions {
  readonly source: WindowSource;
  readonly monitors: readonly Monitor[];
  /** Event time of the data: [from, to) in epoch ms. Windows run from the one holding `from` to the last one that ends by `to` (a partial last window would look like a drop). */
  readonly from: number;
  readonly to: number;
  /** Sites seen this far back are evaluated (the live service's sitesLookbackMs, default 7 days). */
  readonly sitesLookbackMs?: number;
  /** Called after each day of windows (progress). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** The verdict of one monitor on one site for one window: what the scoring needs to tell "missed" from "could not judge". */
export interface WindowVerdict {
  readonly monitorId: string;
  readonly site: string;
  readonly at: number;
  readonly verdict: Verdict;
}

export interface ReplayResult {
  /** Every alert the detector raised (firing and resolved), in the order the live service would have published them. */
  readonly alerts: AlertDecision[];
  /** Firing alerts held back because a site-wide alert covering them was firing (never published). */
  readonly suppressed: AlertDecision[];
  readonly verdicts: WindowVerdict[];
  readonly windows: number;
  readonly detector: DetectorState;
}

/**
 * Steps the detector over [from, to] as the live service would have: the windows `planRound` gives
 * a service that starts at `from` with no state and evaluates without a catch-up limit (oldest window
 * end first, monitors in file order), the counts from the same WindowSource and `observeWindow`, the
 * same `evaluateSeries`. One difference, on purpose: sites are discovered once per day of windows
 * (over the lookback before that day) instead of once per 15-second round; a site first seen mid-day
 * gets a few empty windows earlier, which give no verdict.
 */
export async function replayAlerts(o: ReplayOptions): Promise<ReplayResult> {
  const sitesLookbackMs = o.sitesLookbackMs ?? 7 * DAY_MS;
  const longest = Math.max(...o.monitors.map(windowMsOf));
  // A cursor one step before the first window start at or before `from`, and a clock at which the window holding `to` is closed.
  const cursors = Object.fromEntries(o.monitors.map((m) => [m.id, alignDown(o.from, stepMsOf(m)) - stepMsOf(m)]));
  const now = o.to + 2 * longest;
  const plan = planRound({ monitors: o.monitors, cursors, now, latenessMs: 0, maxCatchUpMs: now - o.from + 2 * longest, maxWindows: Number.MAX_SAFE_INTEGER });
  const windows = plan.windows.filter((w) => w.end <= o.to);
  const anyAllSites = o.monitors.some((m) => m.sites.includes(ALL_SITES));

  let detector = emptyDetectorState();
  const alerts: AlertDecision[] = [];
  const suppressed: AlertDecision[] = [];
  const verdicts: WindowVerdict[] = [];
  let discovered: string[] = [];
  let discoveredDay = Number.NaN;
  for (const [i, w] of windows.entries()) {
    const day = alignDown(w.end, DAY_MS);
    if (day !== discoveredDay) {
      if (!Number.isNaN(discoveredDay)) o.onProgress?.(i, windows.length);
      discoveredDay = day;
      discovered = anyAllSites ? await o.source.sites(day - sitesLookbackMs, day + DAY_MS) : [];
    }
    for (const site of sitesOfMonitor(w.monitor, discovered)) {
      const { window, breakdowns } = await observeWindow(o.source, w.monitor, site, w);
      const result = evaluateSeries(detector, w.monitor, site, window, breakdowns);
      detector = result.detector;
      alerts.push(...result.events);
      suppressed.push(...result.suppressed);
      verdicts.push({ monitorId: w.monitor.id, site, at: w.start, verdict: result.verdict });
    }
  }
  o.onProgress?.(windows.length, windows.length);
  return { alerts, suppressed, verdicts, windows: windows.length, detector };
}
