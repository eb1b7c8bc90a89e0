import { describe, expect, it } from 'vitest';
import type { AlertDecision } from '../core/detector.js';
import { parseMonitors, type Monitor } from '../core/monitors.js';
import { isSuperseded } from '../core/messages.js';
import type { WindowSource, WindowTotals } from '../window-source.js';
import { parseIncidentsFile, type ReplayIncident } from './incidents-file.js';
import { renderReplayReport } from './report.js';
import { replayAlerts } from './replay.js';
import { replayPassed, scoreReplay } from './score.js';

const HOUR = 60 * 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0);
const DAYS = 3;

const monitors = parseMonitors(
  `version: 1
defaults: { windowMinutes: 60, minSample: 50, warmupWindows: 6, evidenceWindows: 2, keepFiringForWindows: 2, cooldownWindows: 2 }
monitors:
  - { id: checkout, kind: funnel, steps: [Product Added, Checkout Started] }
  - { id: tracking, kind: volume, sources: [web], minSample: 20, significance: 5, minRelativeDrop: 0.5, evidenceWindows: 1 }
`,
  'test.yaml',
);

const drop: ReplayIncident = { kind: 'conversion-drop', start: T0 + 40 * HOUR, end: T0 + 44 * HOUR, site: 'shop', step: 'Product Added→Checkout Started', dropPct: 80 };
const outage: ReplayIncident = { kind: 'tracking-stopped', start: T0 + 60 * HOUR, end: T0 + 62 * HOUR, site: 'shop' };

/** Deterministic wobble in [-6, 6], so the series has some noise and the detector some dispersion to learn. */
const wobble = (at: number) => (((at / HOUR) * 7919) % 13) - 6;
const inside = (i: ReplayIncident, at: number) => at >= i.start && at < i.end;

/** A synthetic shop: 200 customers an hour add to cart and ~50% check out; 400 web events an hour. */
function syntheticSource(incidents: readonly ReplayIncident[]): WindowSource & { queries: number } {
  const source = {
    queries: 0,
    async counts(monitor: Monitor, site: string, from: number): Promise<WindowTotals> {
      source.queries++;
      if (site !== 'shop') return { trials: 0, successes: 0, breakdowns: [] };
      if (monitor.kind === 'volume') {
        const events = incidents.some((i) => i.kind === 'tracking-stopped' && inside(i, from)) ? 0 : 400 + 3 * wobble(from);
        return { trials: events, successes: events, breakdowns: [] };
      }
      const rate = incidents.some((i) => i.kind === 'conversion-drop' && inside(i, from)) ? 0.1 : 0.5;
      return { trials: 200, successes: Math.round(200 * rate) + wobble(from), breakdowns: [] };
    },
    async sites() {
      return ['shop'];
    },
  };
  return source;
}

const replay = (incidents: readonly ReplayIncident[]) => replayAlerts({ source: syntheticSource(incidents), monitors, from: T0 + 25 * 60_000, to: T0 + DAYS * 24 * HOUR });

describe('alert replay', () => {
  it('steps every closed window of the data once per monitor and site, oldest first', async () => {
    const result = await replay([]);
    // The window holding `from` (00:00) to the last one ending by `to`: 72 hours × 2 monitors × 1 site.
    expect(result.windows).toBe(72 * 2);
    expect(result.verdicts).toHaveLength(72 * 2);
    expect(result.verdicts[0]).toMatchObject({ at: T0, site: 'shop' });
    const starts = result.verdicts.map((v) => v.at);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    expect(result.alerts).toEqual([]);
  });

  it('finds an injected drop and an outage on a synthetic series: recall 1, no false alarms', async () => {
    const incidents = [drop, outage];
    const result = await replay(incidents);
    const score = scoreReplay(result.alerts, result.verdicts, monitors, incidents);
    expect(score.incidents.map((s) => [s.outcome, s.alerts[0]?.monitor])).toEqual([
      ['detected', 'checkout:product-added-to-checkout-started'],
      ['detected', 'tracking:web'],
    ]);
    expect(score.incidents[0]!.alerts[0]!.at).toBe(drop.start);
    expect(score).toMatchObject({ recall: 1, detected: 2, missed: 0, falseAlarms: [], firing: 2 });
    expect(replayPassed(score)).toBe(true);
    const report = renderReplayReport(score, { windows: result.windows, from: T0, to: T0 + DAYS * 24 * HOUR });
    expect(report).toContain('2 detected, 0 missed');
    expect(report).toContain('false alarms: 0');
    expect(report).toContain('pages per detected incident: 1.00 on average, at most 1');
  });

  it('counts a drop that the incidents file does not name as a false alarm, and an unnamed incident as missed', async () => {
    // The data has the drop; the file only names an incident on another day, where nothing happened.
    const result = await replay([drop]);
    const elsewhere: ReplayIncident = { ...drop, start: T0 + 10 * HOUR, end: T0 + 14 * HOUR };
    const score = scoreReplay(result.alerts, result.verdicts, monitors, [elsewhere]);
    expect(score.incidents.map((s) => s.outcome)).toEqual(['missed']);
    expect(score.falseAlarms.map((a) => a.at)).toEqual([drop.start]);
    expect(score).toMatchObject({ recall: 0, missed: 1 });
    expect(replayPassed(score)).toBe(false);
  });
});

describe('scoring a replay', () => {
  const [checkout, tracking] = monitors as [Monitor, Monitor];
  const alert = (monitor: Monitor, at: number, site = 'shop'): AlertDecision => ({
    alertId: `a-${monitor.id}-${at}`,
    monitor: monitor.id,
    status: 'firing',
    at,
    since: at,
    site,
    step: monitor.step,
    baselineRate: 0.5,
    observedRate: 0.1,
    dropPct: 80,
    statistic: 9,
    breakdownHint: null,
    dashboardUrl: '',
    breakdown: null,
    measure: 'rate',
  });

  it('counts every alert of a detector that fires everywhere outside the incidents as a false alarm', () => {
    const everywhere = Array.from({ length: 72 }, (_, h) => alert(checkout, T0 + h * HOUR));
    const score = scoreReplay(everywhere, [], monitors, [drop]);
    expect(score.incidents[0]!.outcome).toBe('detected');
    // Hours 40–43 overlap the drop and hour 44 is its one window of grace: the other 67 are false.
    expect(score.falseAlarms).toHaveLength(72 - 5);
    expect(score.firing).toBe(72);
    expect(replayPassed(score)).toBe(false);
  });

  it('does not credit an incident to a monitor of another step, site or kind, and tells unjudged from unwatched', () => {
    const unrelated = [alert(tracking, drop.start), alert(checkout, drop.start, 'blog')];
    const verdicts = [
      { monitorId: checkout.id, site: 'shop', at: drop.start, verdict: 'insufficient' as const },
      { monitorId: checkout.id, site: 'shop', at: drop.start + HOUR, verdict: 'warmingUp' as const },
    ];
    const otherStep: ReplayIncident = { ...drop, step: 'Checkout Started→Order Completed' };
    const score = scoreReplay(unrelated, verdicts, monitors, [drop, otherStep]);
    expect(score.incidents.map((s) => s.outcome)).toEqual(['unjudged', 'unwatched']);
    // The tracking alert on shop overlaps an incident on shop: not false. The one on blog is.
    expect(score.falseAlarms.map((a) => a.site)).toEqual(['blog']);
    expect(score.recall).toBeNull();
    expect(replayPassed(scoreReplay([], verdicts, monitors, [drop]))).toBe(false);
    expect(replayPassed(scoreReplay([], [], monitors, []))).toBe(true);
  });

  it('reads the incidents of a params file and rejects one without them', () => {
    const file = JSON.stringify({ days: 90, config: {}, incidents: [{ ...drop, step: 'Product Added -> Checkout Started', applied: 12, startIso: 'x' }, outage] });
    expect(parseIncidentsFile(file, 'p.json')).toEqual([drop, outage]);
    expect(() => parseIncidentsFile(JSON.stringify({ days: 90 }), 'p.json')).toThrow(/p\.json: incidents/);
    expect(() => parseIncidentsFile('{', 'p.json')).toThrow(/not JSON/);
  });
});

describe('a site-wide volume monitor on overlapping windows', () => {
  const MINUTE = 60_000;
  const SOURCES = ['web', 'ios', 'android', 'server'];
  /** Events a minute per source: a shop like the simulated history's (about 130, 25, 20 and 6 an hour), wobbling. */
  const RATE = [2.2, 0.4, 0.35, 0.1];
  const sitewide = parseMonitors(
    `version: 1
defaults: { windowMinutes: 60, minSample: 20, warmupWindows: 24, evidenceWindows: 1, keepFiringForWindows: 2, cooldownWindows: 3, significance: 5, minRelativeDrop: 0.6 }
monitors:
  - { id: tracking, kind: volume, sources: [${SOURCES}] }
  - { id: site-hourly, kind: volume, sources: [${SOURCES}], combineSources: true }
  - id: site-volume
    kind: volume
    sources: [${SOURCES}]
    combineSources: true
    stepMinutes: 15
    baseline: { halfLifeWindows: 96 }
    warmupWindows: 96
    keepFiringForWindows: 4
    cooldownWindows: 4
`,
    'test.yaml',
  );
  // A 1-hour stop of every source from 16:33 to 17:33 on the third day: each aligned hour holds about half of it.
  const stop: ReplayIncident = { kind: 'tracking-stopped', start: T0 + (2 * 24 + 16) * HOUR + 33 * MINUTE, end: T0 + (2 * 24 + 17) * HOUR + 33 * MINUTE, site: 'shop' };
  const eventsIn = (sources: readonly string[], from: number, to: number) => {
    let n = 0;
    for (let t = from; t < to; t += MINUTE) {
      if (t >= stop.start && t < stop.end) continue;
      const m = t / MINUTE;
      sources.forEach((s) => {
        const i = SOURCES.indexOf(s);
        n += Math.floor(RATE[i]! * (0.5 + ((m * 7919 + i * 104_729) % 101) / 100));
      });
    }
    return n;
  };
  const source: WindowSource = {
    async counts(monitor, _site, from, to) {
      const n = monitor.kind === 'volume' ? eventsIn(monitor.sources, from, to) : 0;
      return { trials: n, successes: n, breakdowns: [] };
    },
    async sites() {
      return ['shop'];
    },
  };

  it('pages once on a 1-hour stop that side-by-side hourly windows split in two, and nowhere else', async () => {
    const result = await replayAlerts({ source, monitors: sitewide, from: T0, to: T0 + 4 * 24 * HOUR });
    // Side by side, each hour keeps about half its events (a drop under minRelativeDrop 0.6), per source and summed alike.
    expect(result.alerts.map((a) => [a.monitor, a.status, (a.since - T0) / HOUR - 48, (a.at - T0) / HOUR - 48])).toEqual([
      ['site-volume', 'firing', 16.25, 16.25],
      ['site-volume', 'resolved', 16.25, 17.75],
    ]);
    // The overlapping windows holding most of the stop are anomalous in a row: one incident, so one page; the
    // windows after it resolve it on the fourth normal one in a row (17:45).
    const judged = result.verdicts.filter((v) => v.monitorId === 'site-volume' && v.at >= stop.start - HOUR && v.at < stop.end);
    expect(judged.map((v) => [(v.at - T0) / HOUR - 48, v.verdict])).toEqual([
      [15.75, 'normal'],
      [16, 'normal'],
      [16.25, 'anomalous'],
      [16.5, 'anomalous'],
      [16.75, 'anomalous'],
      [17, 'normal'],
      [17.25, 'normal'],
      [17.5, 'normal'],
    ]);
    const score = scoreReplay(result.alerts, result.verdicts, sitewide, [stop]);
    expect(score).toMatchObject({ detected: 1, missed: 0, falseAlarms: [], firing: 1 });
  });
});

describe('one page per whole-site stop, whatever the order of the monitors file', () => {
  const MINUTE = 60_000;
  const SOURCES = ['web', 'ios', 'android', 'server'];
  /** Events a minute per source, as in the simulated shop (about 130, 25, 20 and 6 an hour), wobbling. */
  const RATE = [2.2, 0.4, 0.35, 0.1];
  const perSource = `  - { id: tracking, kind: volume, sources: [${SOURCES}] }`;
  // minRelativeDrop 0.8: the site-wide monitor fires on the window holding the whole first hour of
  // the stop, the one every source fires on too, so the two are judged on the same window end.
  const siteWide = `  - { id: site-volume, kind: volume, sources: [${SOURCES}], combineSources: true, stepMinutes: 15, minRelativeDrop: 0.8, baseline: { halfLifeWindows: 96 }, warmupWindows: 96, keepFiringForWindows: 4, cooldownWindows: 4 }`;
  const file = (entries: string[]) =>
    parseMonitors(
      `version: 1
defaults: { windowMinutes: 60, minSample: 20, warmupWindows: 24, evidenceWindows: 1, keepFiringForWindows: 2, cooldownWindows: 3, significance: 5, minRelativeDrop: 0.6 }
monitors:
${entries.join('\n')}
`,
      'test.yaml',
    );
  // Every source stops for 4 hours on the third day; ios alone (an eighth of the site) on the fourth.
  const wholeSite = { kind: 'tracking-stopped' as const, start: T0 + (2 * 24 + 10) * HOUR, end: T0 + (2 * 24 + 14) * HOUR, site: 'shop' };
  const iosOnly = { kind: 'tracking-stopped' as const, start: T0 + (3 * 24 + 10) * HOUR, end: T0 + (3 * 24 + 14) * HOUR, site: 'shop', source: 'ios' };
  type Stop = Extract<ReplayIncident, { kind: 'tracking-stopped' }>;
  const stoppedIn = (incidents: readonly Stop[]) => (source: string, t: number) =>
    incidents.some((i) => (i.source === undefined || i.source === source) && t >= i.start && t < i.end);
  const sourceFor = (stopped: (source: string, t: number) => boolean): WindowSource => ({
    async counts(monitor, _site, from, to) {
      let n = 0;
      for (const s of monitor.kind === 'volume' ? monitor.sources : []) {
        const i = SOURCES.indexOf(s);
        let expected = 0;
        for (let t = from; t < to; t += MINUTE) if (!stopped(s, t)) expected += RATE[i]! * (0.5 + (((t / MINUTE) * 7919 + i * 104_729) % 101) / 100);
        n += Math.floor(expected);
      }
      return { trials: n, successes: n, breakdowns: [] };
    },
    async sites() {
      return ['shop'];
    },
  });
  const replayWith = async (monitors: Monitor[], incidents: readonly Stop[] = [wholeSite, iosOnly]) => {
    const result = await replayAlerts({ source: sourceFor(stoppedIn(incidents)), monitors, from: T0, to: T0 + 5 * 24 * HOUR });
    const show = (a: AlertDecision) => `${a.monitor} ${a.status} since ${(a.since - T0) / HOUR} at ${(a.at - T0) / HOUR}`;
    return { result, alerts: result.alerts.map(show).sort(), suppressed: result.suppressed.map(show).sort() };
  };

  it('pages once for a 4-hour stop of every source and still pages for one source stopping alone, in either file order', async () => {
    const sourcesFirst = await replayWith(file([perSource, siteWide]));
    const siteFirst = await replayWith(file([siteWide, perSource]));
    expect(sourcesFirst.alerts).toEqual([
      'site-volume firing since 58 at 58',
      'site-volume resolved since 58 at 62',
      'tracking:ios firing since 82 at 82',
      'tracking:ios resolved since 82 at 87',
    ]);
    // web, ios and android fired on the stop's first hour, with site-volume: held back, silently resolved.
    expect(sourcesFirst.suppressed).toEqual(['tracking:android firing since 58 at 58', 'tracking:ios firing since 58 at 58', 'tracking:web firing since 58 at 58']);
    expect(siteFirst.alerts).toEqual(sourcesFirst.alerts);
    expect(siteFirst.suppressed).toEqual(sourcesFirst.suppressed);
    const score = scoreReplay(sourcesFirst.result.alerts, sourcesFirst.result.verdicts, file([perSource, siteWide]), [wholeSite, iosOnly]);
    expect(score).toMatchObject({ detected: 2, missed: 0, falseAlarms: [], firing: 2 });
    const report = renderReplayReport(score, { windows: sourcesFirst.result.windows, from: T0, to: T0 + 5 * 24 * HOUR, suppressed: sourcesFirst.result.suppressed });
    expect(report).toContain('2 alerts fired (pages), 3 held back by a site-wide alert');
    expect(report).toContain('pages per detected incident: 1.00 on average, at most 1');
  });

  it('closes the page of a source that stopped first when its whole site stops after it, and pages once more if it stays down', async () => {
    // web (72% of the site: under site-volume's 0.8) stops at 10:00 on the third day; the other
    // sources follow at 11:00, back at 13:00; web stays down until 16:00.
    const webFirst: Stop = { kind: 'tracking-stopped', start: T0 + (2 * 24 + 10) * HOUR, end: T0 + (2 * 24 + 16) * HOUR, site: 'shop', source: 'web' };
    const rest: Stop = { kind: 'tracking-stopped', start: T0 + (2 * 24 + 11) * HOUR, end: T0 + (2 * 24 + 13) * HOUR, site: 'shop', source: 'ios' };
    const incidents = [webFirst, rest, { ...rest, source: 'android' }, { ...rest, source: 'server' }];
    const run = await replayWith(file([perSource, siteWide]), incidents);
    expect(run.alerts).toEqual([
      'site-volume firing since 58.5 at 58.5',
      'site-volume resolved since 58.5 at 61.5',
      'tracking:web firing since 58 at 58',
      // Released: web is still down once the site is back (its own incident again), same alertId.
      'tracking:web firing since 58 at 62',
      // Superseded on web's first window judged after site-volume fired: its page closed, naming site-volume's.
      'tracking:web resolved since 58 at 59',
      'tracking:web resolved since 58 at 65',
    ]);
    expect(run.suppressed).toEqual(['tracking:android firing since 59 at 59', 'tracking:ios firing since 59 at 59']);
    const siteAlert = run.result.alerts.find((a) => a.monitor === 'site-volume')!;
    expect(run.result.alerts.filter(isSuperseded).map((a) => [a.monitor, (a.at - T0) / HOUR, a.breakdownHint])).toEqual([
      ['tracking:web', 59, `superseded by site-volume firing on shop (${siteAlert.alertId}); this source pages again if it is still down once that resolves`],
    ]);
    const score = scoreReplay(run.result.alerts, run.result.verdicts, file([perSource, siteWide]), incidents);
    const report = renderReplayReport(score, { windows: run.result.windows, from: T0, to: T0 + 5 * 24 * HOUR, suppressed: run.result.suppressed, alerts: run.result.alerts });
    expect(report).toContain('3 alerts fired (pages), 2 held back by a site-wide alert, 1 superseded by one');
    expect(report).toContain('superseded (paged, then closed for a site-wide alert):\n  2026-01-07 11:00 tracking:web on shop');
  });
});