import { describe, expect, it } from 'vitest';
import { parseMonitors, type Monitor } from './core/monitors.js';
import { lastClosedStart, planRound } from './schedule.js';

const MIN = 60_000;
const T0 = Date.UTC(2025, 0, 6, 12, 0); // a Monday, 12:00 UTC

const monitors: Monitor[] = parseMonitors(
  `version: 1
monitors:
  - id: five
    kind: volume
    sources: [web]
    windowMinutes: 5
  - id: one
    kind: volume
    sources: [web]
    windowMinutes: 1
`,
  'test.yaml',
);
const [five, one] = monitors as [Monitor, Monitor];

const plan = (cursors: Record<string, number>, now: number, extra: Partial<Parameters<typeof planRound>[0]> = {}) =>
  planRound({ monitors, cursors, now, latenessMs: 30_000, maxCatchUpMs: 60 * MIN, maxWindows: 1000, ...extra });

describe('window scheduling', () => {
  it('treats a window as closed only once its end plus the lateness has passed', () => {
    expect(lastClosedStart(T0 + 5 * MIN + 29_999, 5 * MIN, 30_000)).toBe(T0 - 5 * MIN);
    expect(lastClosedStart(T0 + 5 * MIN + 30_000, 5 * MIN, 30_000)).toBe(T0);
  });

  it('evaluates every closed window after the cursor, oldest end first, monitors in file order on ties', () => {
    const cursors = { [five.id]: T0 - 5 * MIN, [one.id]: T0 - MIN };
    const { windows, remaining } = plan(cursors, T0 + 5 * MIN + 30_000);
    expect(windows.map((w) => [w.monitor.id, (w.start - T0) / MIN, (w.end - T0) / MIN])).toEqual([
      [one.id, 0, 1],
      [one.id, 1, 2],
      [one.id, 2, 3],
      [one.id, 3, 4],
      [five.id, 0, 5],
      [one.id, 4, 5],
    ]);
    expect(remaining).toBe(0);
  });

  it('puts monitors covered by a site-wide one after it on ties, whatever the file order, so they see its verdict on the same window end', () => {
    const sitewide = parseMonitors(
      'version: 1\nmonitors:\n  - { id: tracking, kind: volume, sources: [web, ios], windowMinutes: 60 }\n' +
        '  - { id: site, kind: volume, sources: [web, ios], combineSources: true, windowMinutes: 60, stepMinutes: 15, evidenceWindows: 1 }\n',
      'test.yaml',
    );
    const { windows } = planRound({ monitors: sitewide, cursors: {}, now: T0 + 60 * MIN + 30_000, latenessMs: 30_000, maxCatchUpMs: 90 * MIN, maxWindows: 1000 });
    expect(windows.map((w) => [w.monitor.id, (w.start - T0) / MIN, (w.end - T0) / MIN])).toEqual([
      ['site', -15, 45],
      ['site', 0, 60],
      ['tracking:web', 0, 60],
      ['tracking:ios', 0, 60],
    ]);
  });

  it('has nothing to do when every closed window was evaluated', () => {
    const cursors = { [five.id]: T0, [one.id]: T0 + 4 * MIN };
    expect(plan(cursors, T0 + 5 * MIN + 30_000).windows).toEqual([]);
    expect(plan(cursors, T0 + 5 * MIN + 59_000).windows).toEqual([]);
  });

  it('bounds catch-up after downtime to the horizon and reports what it skipped', () => {
    const cursors = { [five.id]: T0 - 24 * 60 * MIN, [one.id]: T0 - 24 * 60 * MIN };
    const now = T0 + 30_000;
    const result = plan(cursors, now);
    const fiveWindows = result.windows.filter((w) => w.monitor.id === five.id);
    // Only windows that start within the last hour: the first 5-minute one starts at 11:05.
    expect(fiveWindows[0]!.start).toBe(T0 - 55 * MIN);
    expect(fiveWindows.at(-1)!.start).toBe(T0 - 5 * MIN);
    expect(fiveWindows).toHaveLength(11);
    expect(result.windows.filter((w) => w.monitor.id === one.id)).toHaveLength(59);
    // From the window after the cursor up to the horizon, exclusive.
    expect(result.skipped).toEqual({ [five.id]: (24 * 60 - 55 - 5) / 5, [one.id]: 24 * 60 - 59 - 1 });
  });

  it('starts a monitor that was never evaluated at the catch-up horizon, so it learns from recent history', () => {
    const result = plan({}, T0 + 30_000);
    expect(result.windows.filter((w) => w.monitor.id === five.id).map((w) => w.start)[0]).toBe(T0 - 55 * MIN);
    expect(result.skipped).toEqual({});
  });

  it('caps a round at maxWindows, keeping chronological order, and leaves the rest for the next round', () => {
    const first = plan({}, T0 + 30_000, { maxWindows: 10 });
    expect(first.windows).toHaveLength(10);
    expect(first.remaining).toBe(11 + 59 - 10);
    const ends = first.windows.map((w) => w.end);
    expect(ends).toEqual([...ends].sort((a, b) => a - b));
    // Advance the cursors as the service does: the next round continues where this one stopped.
    const cursors: Record<string, number> = {};
    for (const w of first.windows) cursors[w.monitor.id] = w.start;
    const second = plan(cursors, T0 + 30_000, { maxWindows: 1000 });
    expect(second.windows).toHaveLength(60);
    expect(second.windows[0]!.end).toBeGreaterThanOrEqual(first.windows.at(-1)!.end);
  });

  it('steps overlapping windows by stepMinutes: an hourly window every 15 minutes, each judged once it has closed', () => {
    const [sliding] = parseMonitors('version: 1\nmonitors:\n  - { id: site, kind: volume, sources: [web], windowMinutes: 60, stepMinutes: 15, evidenceWindows: 1 }\n', 'test.yaml') as [Monitor];
    const slidingPlan = (cursor: number, now: number) =>
      planRound({ monitors: [sliding], cursors: { [sliding.id]: cursor }, now, latenessMs: 30_000, maxCatchUpMs: 24 * 60 * MIN, maxWindows: 1000 });
    // At 13:15:30 the hourly windows starting 11:15 … 12:15 have closed; 12:30–13:30 has not.
    const due = slidingPlan(T0 - 60 * MIN, T0 + 75 * MIN + 30_000).windows.map((w) => [(w.start - T0) / MIN, (w.end - T0) / MIN]);
    expect(due).toEqual([
      [-45, 15],
      [-30, 30],
      [-15, 45],
      [0, 60],
      [15, 75],
    ]);
    expect(lastClosedStart(T0 + 75 * MIN + 29_999, 60 * MIN, 30_000, 15 * MIN)).toBe(T0);
    // Never evaluated, 2 hours of catch-up at 12:07:30: from the first start on the 15-minute grid after 10:07:30.
    const fresh = planRound({ monitors: [sliding], cursors: {}, now: T0 + 7 * MIN + 30_000, latenessMs: 30_000, maxCatchUpMs: 2 * 60 * MIN, maxWindows: 1000 });
    expect(fresh.windows.map((w) => (w.start - T0) / MIN)).toEqual([-105, -90, -75, -60]);
  });

  it('continues on the new grid when a monitor changed its window size', () => {
    // The cursor of `five` is off its 5-minute grid (it used to be a 1-minute monitor).
    const result = plan({ [five.id]: T0 - 7 * MIN, [one.id]: T0 }, T0 + 5 * MIN + 30_000);
    expect(result.windows.filter((w) => w.monitor.id === five.id).map((w) => (w.start - T0) / MIN)).toEqual([-5, 0]);
  });
});
