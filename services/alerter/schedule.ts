import { coveringMonitors, stepMinutesOf, type Monitor } from './core/monitors.js';

/**
 * Which windows an evaluation round looks at. Pure: the service passes the clock in.
 *
 * Window starts are aligned to the epoch on the monitor's step (a 5-minute window starts at :00,
 * :05, …; an hourly window stepping every 15 minutes at :00, :15, …, and overlaps the three before
 * it). A window [start, start + windowMs) is *closed* once `start + windowMs + latenessMs ≤ now`:
 * the lateness gives late events time to land in ClickHouse before the window is judged, once and
 * for good. Each monitor keeps a cursor (the start of the last window it evaluated); a round
 * evaluates every closed window after it, oldest first, but never one that started more than
 * `maxCatchUpMs` ago, so catch-up after downtime is bounded.
 */

export const windowMsOf = (monitor: Monitor): number => monitor.settings.windowMinutes * 60_000;
/** Between window starts: the window itself unless the monitor's windows overlap (`stepMinutes`). */
export const stepMsOf = (monitor: Monitor): number => stepMinutesOf(monitor.settings) * 60_000;

export const alignDown = (t: number, stepMs: number): number => Math.floor(t / stepMs) * stepMs;
export const alignUp = (t: number, stepMs: number): number => Math.ceil(t / stepMs) * stepMs;

export interface DueWindow {
  readonly monitor: Monitor;
  /** Window start, epoch ms (what the detector calls `at`). */
  readonly start: number;
  /** Window end, exclusive. */
  readonly end: number;
}

export interface RoundPlanInput {
  readonly monitors: readonly Monitor[];
  /** Start of the last evaluated window per monitor id; absent = never evaluated. */
  readonly cursors: Readonly<Record<string, number>>;
  readonly now: number;
  readonly latenessMs: number;
  readonly maxCatchUpMs: number;
  /** At most this many windows per round; the rest wait for the next round (see `remaining`). */
  readonly maxWindows: number;
}

export interface RoundPlan {
  /**
   * Oldest window end first; of windows ending together, monitors covered by a site-wide one
   * (`coveredBy`) come last, so they see its verdict on the same window end; otherwise file order.
   */
  readonly windows: DueWindow[];
  /** Closed windows left for later rounds because of `maxWindows`. */
  readonly remaining: number;
  /** Per monitor: closed windows never evaluated because they are older than the catch-up horizon. */
  readonly skipped: Readonly<Record<string, number>>;
}

/** The newest start (on the `stepMs` grid) of a window of this size that is closed at `now`. */
export const lastClosedStart = (now: number, windowMs: number, latenessMs: number, stepMs = windowMs): number =>
  alignDown(now - latenessMs - windowMs, stepMs);

export function planRound(input: RoundPlanInput): RoundPlan {
  const { monitors, cursors, now, latenessMs, maxCatchUpMs, maxWindows } = input;
  const due: Array<DueWindow & { covered: number; order: number }> = [];
  const skipped: Record<string, number> = {};
  monitors.forEach((monitor, order) => {
    const covered = coveringMonitors(monitor).length > 0 ? 1 : 0;
    const windowMs = windowMsOf(monitor);
    const stepMs = stepMsOf(monitor);
    const horizon = alignUp(now - maxCatchUpMs, stepMs);
    const last = lastClosedStart(now, windowMs, latenessMs, stepMs);
    const cursor = cursors[monitor.id];
    // A cursor off this grid (windowMinutes or stepMinutes was changed) continues at the next aligned start.
    const next = cursor === undefined ? horizon : alignDown(cursor, stepMs) + stepMs;
    if (cursor !== undefined && next < horizon) skipped[monitor.id] = Math.max(0, Math.min(horizon, last + stepMs) - next) / stepMs;
    for (let start = Math.max(next, horizon); start <= last; start += stepMs) {
      due.push({ monitor, start, end: start + windowMs, covered, order });
    }
  });
  // Covered monitors after their covering ones: a whole-site stop pages once whatever the file order
  // (core/detector.ts, siteWideIncident). A cut at maxWindows keeps that order across rounds.
  due.sort((a, b) => a.end - b.end || a.covered - b.covered || a.order - b.order);
  return {
    windows: due.slice(0, Math.max(0, maxWindows)).map(({ monitor, start, end }) => ({ monitor, start, end })),
    remaining: Math.max(0, due.length - Math.max(0, maxWindows)),
    skipped,
  };
}
