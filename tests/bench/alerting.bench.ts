import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  createSeriesGroup,
  evaluate,
  type AlertDecision,
  type BreakdownCounts,
  type SeriesGroupState,
} from '../../services/alerter/core/detector.js';
import { parseMonitors, type ConversionMonitor, type Monitor } from '../../services/alerter/core/monitors.js';
import { createPrng } from '../support/prng.js';
export { createPrng };

/**
 * Evaluation harness for the drop-off detector (`npm run bench`). Everything is driven by one seeded
 * PRNG, so a seed always produces the same figures. Traffic is stationary binomial with realistic
 * noise: trials follow a daily cycle with a few percent of extra traffic noise, and each window's
 * conversion rate is jittered (lognormal, a few percent) so counts are overdispersed like real ones.
 *
 * Drops are injected by branching off the stationary run: at a random window where the detector is
 * quiet, its (immutable) state is reused and the next windows are simulated with the step's rate
 * multiplied by (1 − drop). Onsets are aligned to window starts; an incident that starts mid-window
 * can take up to one extra window.
 */

// ---------------------------------------------------------------------------------------------
// Simulation pieces (reusable).

export type Random = () => number;


/** A child seed from a seed and labels, so every branch has its own reproducible stream. */
export function deriveSeed(seed: number, ...parts: Array<string | number>): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const ch of parts.join('|')) {
    h = Math.imul(h ^ ch.charCodeAt(0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  return Math.imul(h ^ (h >>> 16), 0xc2b2ae35) >>> 0;
}

/** Standard normal (Box–Muller). */
export function standardNormal(random: Random): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Exact binomial draw by geometric waiting times: O(n·min(p, 1−p)), fine up to tens of thousands of trials. */
export function binomialSample(random: Random, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomialSample(random, n, 1 - p);
  const logQ = Math.log(1 - p);
  let successes = 0;
  let position = 0;
  for (;;) {
    position += Math.floor(Math.log(1 - random()) / logQ) + 1;
    if (position > n) return successes;
    successes++;
  }
}

/** Poisson draw: Knuth below 30, normal approximation above (trials are large; their noise barely matters). */
export function poissonSample(random: Random, mean: number): number {
  if (mean <= 0) return 0;
  if (mean < 30) {
    const limit = Math.exp(-mean);
    let k = 0;
    let product = random();
    while (product > limit) {
      k++;
      product *= random();
    }
    return k;
  }
  return Math.max(0, Math.round(mean + Math.sqrt(mean) * standardNormal(random)));
}

export interface TrafficProfile {
  /** Mean conversions per window over a day (the baseline size). */
  readonly meanConversions: number;
  readonly conversionRate: number;
  readonly windowMinutes: number;
  /** Trials swing ±amplitude around the mean over a day (0.5: peak is 3× the trough). */
  readonly dailyAmplitude: number;
  /** Lognormal sd of the trials' extra (non-Poisson) noise per window. */
  readonly trafficJitter: number;
  /** Lognormal sd of the per-window conversion rate: the overdispersion. */
  readonly rateJitter: number;
  /** The conversion rate also swings ±this over a day (mix of devices and intent changes). */
  readonly rateDailyAmplitude: number;
}

export const DEFAULT_PROFILE: Omit<TrafficProfile, 'meanConversions'> = {
  conversionRate: 0.1,
  windowMinutes: 5,
  dailyAmplitude: 0.5,
  trafficJitter: 0.05,
  rateJitter: 0.03,
  rateDailyAmplitude: 0.03,
};

export const windowsPerDay = (profile: TrafficProfile) => (24 * 60) / profile.windowMinutes;

const dayPhase = (profile: TrafficProfile, windowIndex: number) => Math.sin((2 * Math.PI * windowIndex) / windowsPerDay(profile));

/** Expected trials and rate of a window, before noise. */
export function expectedWindow(profile: TrafficProfile, windowIndex: number): { trials: number; rate: number } {
  const meanTrials = profile.meanConversions / profile.conversionRate;
  return {
    trials: meanTrials * (1 + profile.dailyAmplitude * dayPhase(profile, windowIndex)),
    rate: profile.conversionRate * (1 + profile.rateDailyAmplitude * dayPhase(profile, windowIndex - windowsPerDay(profile) / 8)),
  };
}

export interface SimulatedWindow {
  readonly trials: number;
  readonly successes: number;
  /** The jittered conversion rate this window was drawn with. */
  readonly rate: number;
  /** Conversions the baseline would expect in this window (the "baseline size" at this time of day). */
  readonly expectedConversions: number;
}

/** One window of one step; `rateMultiplier` < 1 injects a drop. */
export function simulateWindow(random: Random, profile: TrafficProfile, windowIndex: number, rateMultiplier = 1): SimulatedWindow {
  const expected = expectedWindow(profile, windowIndex);
  const lognormal = (sd: number) => Math.exp(sd * standardNormal(random) - (sd * sd) / 2);
  const trials = poissonSample(random, expected.trials * lognormal(profile.trafficJitter));
  const rate = Math.min(1, expected.rate * lognormal(profile.rateJitter) * rateMultiplier);
  return { trials, successes: binomialSample(random, trials, rate), rate, expectedConversions: expected.trials * expected.rate };
}

/** Splits a window's trials across segments (e.g. deviceType), each with its own rate multiplier. */
export function simulateSegments(
  random: Random,
  window: SimulatedWindow,
  segments: ReadonlyArray<{ value: string; share: number; rateMultiplier: number }>,
  rate: number,
): Array<{ value: string; trials: number; successes: number }> {
  let remaining = window.trials;
  return segments.map((s, i) => {
    const trials = i === segments.length - 1 ? remaining : binomialSample(random, remaining, s.share / segments.slice(i).reduce((a, b) => a + b.share, 0));
    remaining -= trials;
    return { value: s.value, trials, successes: binomialSample(random, trials, Math.min(1, rate * s.rateMultiplier)) };
  });
}

/** The naive rule the detector is compared with: fires when the rate fell by `threshold` vs the previous window. */
export function naiveRuleFires(previous: { trials: number; successes: number } | null, current: { trials: number; successes: number }, threshold: number): boolean {
  if (previous === null || previous.trials === 0 || current.trials === 0) return false;
  const before = previous.successes / previous.trials;
  return before > 0 && current.successes / current.trials < before * (1 - threshold);
}

// ---------------------------------------------------------------------------------------------
// Harness.

export interface AlertingBenchOptions {
  readonly seed: number;
  /** Baseline sizes: mean conversions per window. */
  readonly sizes: readonly number[];
  /** Relative drops injected at the step. */
  readonly drops: readonly number[];
  /** Days of stationary traffic per size for the false-alarm rate (after one warm-up day). */
  readonly stationaryDays: number;
  /** Injected incidents per size × drop. */
  readonly incidentsPerCell: number;
  /** Windows an incident is followed before it counts as missed. */
  readonly horizonWindows: number;
  readonly naiveThreshold: number;
  readonly profile: Omit<TrafficProfile, 'meanConversions'>;
  /** The monitor under test; defaults to the first funnel step of services/alerter/monitors.default.yaml. */
  readonly monitor?: ConversionMonitor;
}

export const DEFAULT_BENCH_OPTIONS: AlertingBenchOptions = {
  seed: 20240611,
  sizes: [50, 200, 1000],
  drops: [0.1, 0.2, 0.3, 0.5],
  stationaryDays: 100,
  incidentsPerCell: 500,
  horizonWindows: 12,
  naiveThreshold: 0.2,
  profile: DEFAULT_PROFILE,
};

export function loadDefaultFunnelMonitor(): ConversionMonitor {
  const path = fileURLToPath(new URL('../../services/alerter/monitors.default.yaml', import.meta.url));
  const monitors = parseMonitors(readFileSync(path, 'utf8'), path);
  const monitor = monitors.find((m): m is ConversionMonitor => m.kind === 'funnel');
  if (monitor === undefined) throw new Error('monitors.default.yaml has no funnel monitor');
  return monitor;
}

const round = (x: number, digits = 3) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);
const per1000 = (count: number, evaluations: number) => round((1000 * count) / Math.max(1, evaluations));
const quantile = (sorted: number[], q: number) => (sorted.length === 0 ? null : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number));

interface Branch {
  readonly windowIndex: number;
  readonly state: SeriesGroupState;
  readonly previous: { trials: number; successes: number };
  readonly expectedConversions: number;
}

interface StationaryResult {
  readonly evaluations: number;
  readonly detectorAlerts: number;
  readonly naiveFires: number;
  readonly branches: Branch[];
}

const SITE = 'bench.example';
const windowMs = (monitor: Monitor) => monitor.settings.windowMinutes * 60_000;

/** Runs stationary traffic through the detector and the naive rule, keeping quiet states at the requested onsets. */
function runStationary(options: AlertingBenchOptions, monitor: ConversionMonitor, profile: TrafficProfile): StationaryResult {
  const random = createPrng(deriveSeed(options.seed, 'stationary', profile.meanConversions));
  const warmup = windowsPerDay(profile);
  const total = warmup + Math.round(options.stationaryDays * windowsPerDay(profile));
  const pick = createPrng(deriveSeed(options.seed, 'onsets', profile.meanConversions));
  const onsets = new Set(Array.from({ length: options.incidentsPerCell * 3 }, () => warmup + Math.floor(pick() * (total - warmup - 1))));
  let state = createSeriesGroup(monitor, SITE);
  let previous: { trials: number; successes: number } | null = null;
  let evaluations = 0;
  let detectorAlerts = 0;
  let naiveFires = 0;
  const branches: Branch[] = [];
  for (let i = 0; i < total; i++) {
    const expected = expectedWindow(profile, i);
    if (onsets.has(i) && previous !== null && state.parent.phase === 'ok' && branches.length < options.incidentsPerCell) {
      branches.push({ windowIndex: i, state, previous, expectedConversions: expected.trials * expected.rate });
    }
    const window = simulateWindow(random, profile, i);
    const result = evaluate(state, { at: i * windowMs(monitor), trials: window.trials, successes: window.successes }, undefined, monitor);
    state = result.state;
    if (i >= warmup) {
      if (result.verdict === 'normal' || result.verdict === 'anomalous') evaluations++;
      detectorAlerts += result.events.filter((e) => e.status === 'firing').length;
      if (naiveRuleFires(previous, window, options.naiveThreshold)) naiveFires++;
    }
    previous = window;
  }
  return { evaluations, detectorAlerts, naiveFires, branches };
}

interface IncidentOutcome {
  readonly detectorDelay: number | null;
  readonly naiveDelay: number | null;
  readonly expectedConversions: number;
}

/** Replays one branch with the drop injected; delay 1 = caught on the first affected window. */
function runIncident(options: AlertingBenchOptions, monitor: ConversionMonitor, profile: TrafficProfile, branch: Branch, drop: number, n: number): IncidentOutcome {
  const random = createPrng(deriveSeed(options.seed, 'incident', profile.meanConversions, drop, n));
  let state = branch.state;
  let previous = branch.previous;
  let detectorDelay: number | null = null;
  let naiveDelay: number | null = null;
  for (let j = 0; j < options.horizonWindows && (detectorDelay === null || naiveDelay === null); j++) {
    const i = branch.windowIndex + j;
    const window = simulateWindow(random, profile, i, 1 - drop);
    const result = evaluate(state, { at: i * windowMs(monitor), trials: window.trials, successes: window.successes }, undefined, monitor);
    state = result.state;
    if (detectorDelay === null && result.events.some((e) => e.status === 'firing')) detectorDelay = j + 1;
    if (naiveDelay === null && naiveRuleFires(previous, window, options.naiveThreshold)) naiveDelay = j + 1;
    previous = window;
  }
  return { detectorDelay, naiveDelay, expectedConversions: branch.expectedConversions };
}

function summarizeDelays(delays: Array<number | null>) {
  const caught = delays.filter((d): d is number => d !== null).sort((a, b) => a - b);
  const total = Math.max(1, delays.length);
  return {
    recallWithin1: round(caught.filter((d) => d <= 1).length / total),
    recallWithin2: round(caught.filter((d) => d <= 2).length / total),
    recallWithinHorizon: round(caught.length / total),
    meanDelayWindows: caught.length === 0 ? null : round(caught.reduce((a, b) => a + b, 0) / caught.length, 2),
    medianDelayWindows: quantile(caught, 0.5),
    p95DelayWindows: quantile(caught, 0.95),
  };
}

/** A drop concentrated in one breakdown value vs a uniform one: does the hint name the right value, and how many pages go out? */
function runRootCauseScenario(options: AlertingBenchOptions, base: ConversionMonitor, profile: TrafficProfile) {
  const monitor: ConversionMonitor = { ...base, breakdowns: ['deviceType'] };
  const devices = [
    { value: 'mobile', share: 0.6 },
    { value: 'desktop', share: 0.4 },
  ];
  const breakdownsOf = (segments: Array<{ value: string; trials: number; successes: number }>): BreakdownCounts[] =>
    segments.map((s) => ({ dimension: 'deviceType', value: s.value, trials: s.trials, successes: s.successes }));
  const random = createPrng(deriveSeed(options.seed, 'root-cause', profile.meanConversions));
  const warmup = 2 * windowsPerDay(profile);
  let state = createSeriesGroup(monitor, SITE);
  const quietStates: Array<{ i: number; state: SeriesGroupState }> = [];
  const incidents = Math.max(1, Math.round(options.incidentsPerCell / 5));
  for (let i = 0; i < warmup + incidents * 7; i++) {
    const window = simulateWindow(random, profile, i);
    const segments = simulateSegments(random, window, devices.map((d) => ({ ...d, rateMultiplier: 1 })), window.rate);
    const totals = { trials: window.trials, successes: segments.reduce((a, s) => a + s.successes, 0) };
    state = evaluate(state, { at: i * windowMs(monitor), ...totals }, breakdownsOf(segments), monitor).state;
    if (i >= warmup && (i - warmup) % 7 === 0 && state.parent.phase === 'ok') quietStates.push({ i: i + 1, state });
  }
  const scenario = (name: string, multipliers: Record<string, number>) => {
    let caught = 0;
    let namedMobile = 0;
    let noHint = 0;
    let pages = 0;
    quietStates.forEach(({ i: onset, state: start }, n) => {
      const branchRandom = createPrng(deriveSeed(options.seed, 'root-cause', name, n));
      let s = start;
      const firing: AlertDecision[] = [];
      for (let j = 0; j < options.horizonWindows; j++) {
        const i = onset + j;
        const window = simulateWindow(branchRandom, profile, i);
        const segments = simulateSegments(branchRandom, window, devices.map((d) => ({ ...d, rateMultiplier: multipliers[d.value] ?? 1 })), window.rate);
        const totals = { trials: window.trials, successes: segments.reduce((a, seg) => a + seg.successes, 0) };
        const result = evaluate(s, { at: i * windowMs(monitor), ...totals }, breakdownsOf(segments), monitor);
        s = result.state;
        firing.push(...result.events.filter((e) => e.status === 'firing'));
      }
      pages += firing.length;
      const siteWide = firing.find((e) => e.breakdown === null);
      if (siteWide === undefined) return;
      caught++;
      if (siteWide.breakdownHint === null) noHint++;
      else if (siteWide.breakdownHint.startsWith('deviceType=mobile')) namedMobile++;
    });
    const incidentsRun = Math.max(1, quietStates.length);
    return {
      incidents: quietStates.length,
      siteWideCaught: round(caught / incidentsRun),
      hintNamesMobile: round(namedMobile / Math.max(1, caught)),
      noHint: round(noHint / Math.max(1, caught)),
      pagesPerIncident: round(pages / incidentsRun, 2),
    };
  };
  return {
    meanConversions: profile.meanConversions,
    segments: devices,
    mobileOnlyDrop50: scenario('mobile-only', { mobile: 0.5 }),
    uniformDrop30: scenario('uniform', { mobile: 0.7, desktop: 0.7 }),
  };
}

export async function runAlertingBench(overrides: Partial<AlertingBenchOptions> = {}): Promise<Record<string, unknown>> {
  const options: AlertingBenchOptions = { ...DEFAULT_BENCH_OPTIONS, ...overrides };
  const monitor = options.monitor ?? loadDefaultFunnelMonitor();
  const profileFor = (meanConversions: number): TrafficProfile => ({ ...options.profile, meanConversions, windowMinutes: monitor.settings.windowMinutes });

  const stationary: Array<Record<string, unknown>> = [];
  const incidents: Array<Record<string, unknown>> = [];
  const goalDelays: Array<number | null> = [];
  let worstFalseAlarms = 0;
  for (const size of options.sizes) {
    const profile = profileFor(size);
    const run = runStationary(options, monitor, profile);
    const detectorRate = per1000(run.detectorAlerts, run.evaluations);
    worstFalseAlarms = Math.max(worstFalseAlarms, detectorRate);
    stationary.push({
      meanConversions: size,
      evaluations: run.evaluations,
      detector: { alerts: run.detectorAlerts, falseAlarmsPer1000: detectorRate },
      naive: { fires: run.naiveFires, falseAlarmsPer1000: per1000(run.naiveFires, run.evaluations) },
    });
    for (const drop of options.drops) {
      const outcomes = run.branches.map((branch, n) => runIncident(options, monitor, profile, branch, drop, n));
      if (drop >= 0.3) goalDelays.push(...outcomes.filter((o) => o.expectedConversions >= 200).map((o) => o.detectorDelay));
      const atLeast200 = outcomes.filter((o) => o.expectedConversions >= 200);
      incidents.push({
        meanConversions: size,
        dropPct: Math.round(drop * 100),
        incidents: outcomes.length,
        detector: summarizeDelays(outcomes.map((o) => o.detectorDelay)),
        naive: summarizeDelays(outcomes.map((o) => o.naiveDelay)),
        // The daily cycle puts some onsets below 200 expected conversions even when the mean is above.
        onsetsWithAtLeast200Conversions: {
          incidents: atLeast200.length,
          detectorRecallWithin2: summarizeDelays(atLeast200.map((o) => o.detectorDelay)).recallWithin2,
          naiveRecallWithin2: summarizeDelays(atLeast200.map((o) => o.naiveDelay)).recallWithin2,
        },
      });
    }
  }
  const goalRecall = summarizeDelays(goalDelays).recallWithin2;
  const rootCause = options.sizes.includes(200) ? runRootCauseScenario(options, monitor, profileFor(200)) : null;
  return {
    seed: options.seed,
    monitor: { id: monitor.id, settings: monitor.settings },
    traffic: { ...options.profile, windowMinutes: monitor.settings.windowMinutes, stationaryDaysPerSize: options.stationaryDays, onsetAlignment: 'window start' },
    naiveRule: `fires when the rate is ${Math.round(options.naiveThreshold * 100)}% below the previous window`,
    stationary,
    incidents,
    rootCause,
    goals: {
      drop30PlusRecallWithin2Windows_atLeast200Conversions: { value: goalRecall, incidents: goalDelays.length, target: 0.99, met: goalRecall >= 0.99 },
      worstFalseAlarmsPer1000: { value: worstFalseAlarms, target: 1, met: worstFalseAlarms <= 1 },
    },
  };
}
