import { z } from 'zod';
import { isVolumeMonitor, stepMinutesOf, type Monitor } from './monitors.js';
import {
  countDropZ,
  ewmaAdd,
  ewmaMeanAdd,
  ewmaMeanValue,
  ewmaPerWindow,
  ewmaRate,
  scoreDropZ,
  twoProportionDropZ,
  wilsonInterval,
  type Proportion,
} from './statistics.js';

/**
 * One series (monitor × site, or monitor × site × breakdown value) as a state machine:
 *
 *   ok → pending (anomalous, fewer than forWindows in a row) → firing
 *   firing → recovering (normal, fewer than keepFiringForWindows in a row) → resolved → cooldown → ok
 *
 * "resolved" is a transition, not a resting phase. The baseline learns only from normal windows in
 * ok/cooldown, so neither an incident nor a suspected one (pending) becomes the new normal.
 */
export const PHASES = ['ok', 'pending', 'firing', 'recovering', 'cooldown'] as const;
export type Phase = (typeof PHASES)[number];

const finite = z.number().finite();
const Counts = z.object({ at: z.number().int(), trials: finite.min(0), successes: finite.min(0) });
export type WindowObservation = z.infer<typeof Counts> & { readonly lastWeek?: Proportion | undefined };

export const SeriesState = z.object({
  phase: z.enum(PHASES),
  /** Consecutive anomalous windows while pending. */
  anomalousRun: z.number().int().min(0),
  /** Consecutive normal windows while recovering. */
  normalRun: z.number().int().min(0),
  /** Windows since the alert fired. */
  incidentWindows: z.number().int().min(0),
  cooldownLeft: z.number().int().min(0),
  /** Start of the current incident (first anomalous window), null when ok. */
  since: z.number().int().nullable(),
  /** EWMA of successes and trials (volume: the count is in trials). */
  baseline: z.object({ successes: finite, trials: finite, windows: finite }).nullable(),
  /** Windows absorbed into the current baseline, for the warm-up guard. */
  baselineWindows: z.number().int().min(0),
  /** EWMA of squared z of normal windows: the variance inflation (overdispersion) actually seen. */
  dispersion: z.object({ sum: finite, weight: finite }),
  /**
   * The last contiguous windows (oldest first, at most evidenceWindows - 1), for multi-window
   * evidence; for a conversion series also the thin ones (below minSample), which a later window
   * is judged together with. Volume series keep only windows that got a verdict.
   */
  recent: z.array(Counts),
  lastAt: z.number().int().nullable(),
  /**
   * Who heard about the current incident. Site-wide series page at once ('sent'). A breakdown series
   * is 'held' for one window so a site-wide alert can absorb it ('folded' into its hint) instead of
   * paging twice for one incident. A per-source volume series whose site is in a site-wide incident
   * (a combined monitor covering its source is firing) is 'suppressed': not paged, and paged late
   * ('sent') only if it is still firing once the site-wide incident has resolved.
   */
  page: z.enum(['none', 'held', 'sent', 'folded', 'suppressed']),
});
export type SeriesState = z.infer<typeof SeriesState>;

/** A prior worth this many windows at dispersion 1, so a few noisy windows cannot swing it. */
const DISPERSION_PRIOR_WINDOWS = 8;
/** z² is winsorised so one outlier window cannot inflate the dispersion estimate for hours. */
const DISPERSION_MAX_Z2 = 25;
/** Multi-window evidence counts only when the newest window itself leans towards a drop. */
const MIN_SUPPORTING_Z = 1;

export const initialSeriesState = (): SeriesState => ({
  phase: 'ok',
  anomalousRun: 0,
  normalRun: 0,
  incidentWindows: 0,
  cooldownLeft: 0,
  since: null,
  baseline: null,
  baselineWindows: 0,
  dispersion: { sum: DISPERSION_PRIOR_WINDOWS, weight: DISPERSION_PRIOR_WINDOWS },
  recent: [],
  lastAt: null,
  page: 'none',
});

/** What a window is compared against: a rate (volume: a count per window) and how much data backs it. */
export interface Reference {
  readonly source: 'ewma' | 'lastWeek';
  readonly value: number;
  readonly trials: number;
  readonly windows: number;
}

export interface DropTest {
  /** Drop statistic (positive = below baseline), already divided by the overdispersion. */
  readonly z: number;
  readonly relativeDrop: number;
  readonly observed: number;
  readonly baseline: number;
  readonly anomalous: boolean;
}

export type Verdict = 'duplicate' | 'insufficient' | 'warmingUp' | 'normal' | 'anomalous';

export interface SeriesStep {
  readonly series: SeriesState;
  readonly verdict: Verdict;
  readonly transition: 'fired' | 'resolved' | null;
  /** The test that decided the verdict (the multi-window one when that tipped it). */
  readonly test: DropTest | null;
  readonly reference: Reference | null;
}

export function referenceFor(series: SeriesState, window: WindowObservation, monitor: Monitor): Reference | null {
  const { baseline, minSample } = monitor.settings;
  const volume = isVolumeMonitor(monitor);
  const lastWeek = window.lastWeek;
  if (baseline.kind === 'sameWindowLastWeek' && lastWeek !== undefined && lastWeek.trials >= minSample) {
    const value = volume ? lastWeek.trials : lastWeek.successes / lastWeek.trials;
    return { source: 'lastWeek', value, trials: lastWeek.trials, windows: 1 };
  }
  if (series.baseline === null) return null;
  const value = volume ? ewmaPerWindow(series.baseline) : ewmaRate(series.baseline);
  return { source: 'ewma', value, trials: series.baseline.trials, windows: series.baseline.windows };
}

export const dispersionFactor = (series: SeriesState, monitor: Monitor): number =>
  monitor.settings.dispersionHalfLifeWindows > 0 ? Math.max(1, ewmaMeanValue(series.dispersion)) : 1;

/** Tests `windows` consecutive windows summed against the reference. */
export function testDrop(counts: Proportion, windows: number, reference: Reference, inflation: number, monitor: Monitor): DropTest {
  const { significance, minRelativeDrop, test } = monitor.settings;
  if (isVolumeMonitor(monitor)) {
    const expected = reference.value * windows;
    const z = countDropZ(counts.trials, expected, reference.windows / windows, inflation);
    const relativeDrop = expected > 0 ? 1 - counts.trials / expected : 0;
    const observed = counts.trials / windows;
    return { z, relativeDrop, observed, baseline: reference.value, anomalous: z >= significance && relativeDrop >= minRelativeDrop };
  }
  const observed = counts.trials > 0 ? counts.successes / counts.trials : 0;
  const relativeDrop = reference.value > 0 ? 1 - observed / reference.value : 0;
  let z: number;
  let significant: boolean;
  if (test === 'wilson') {
    // Score test against the baseline rate, on a sample shrunk for overdispersion and for the baseline's own noise.
    const effectiveTrials = counts.trials / (inflation * (1 + counts.trials / reference.trials));
    z = scoreDropZ(observed * effectiveTrials, effectiveTrials, reference.value);
    significant = wilsonInterval(observed * effectiveTrials, effectiveTrials, significance).upper < reference.value;
  } else {
    z = twoProportionDropZ(counts, { successes: reference.value * reference.trials, trials: reference.trials }, inflation);
    significant = z >= significance;
  }
  return { z, relativeDrop, observed, baseline: reference.value, anomalous: significant && relativeDrop >= minRelativeDrop };
}

const sum = (windows: readonly Proportion[]): Proportion =>
  windows.reduce((acc, w) => ({ trials: acc.trials + w.trials, successes: acc.successes + w.successes }), { trials: 0, successes: 0 });

/** Learns a normal window: EWMA baseline, dispersion (from the window's raw z), warm-up count. */
function absorb(series: SeriesState, window: WindowObservation, rawZ: number | null, monitor: Monitor): SeriesState {
  const { baseline, dispersionHalfLifeWindows } = monitor.settings;
  const counts = isVolumeMonitor(monitor) ? { successes: window.trials, trials: window.trials } : window;
  return {
    ...series,
    baseline: ewmaAdd(series.baseline, counts, baseline.halfLifeWindows),
    baselineWindows: series.baselineWindows + 1,
    dispersion:
      rawZ === null || dispersionHalfLifeWindows <= 0
        ? series.dispersion
        : ewmaMeanAdd(series.dispersion, Math.min(rawZ * rawZ, DISPERSION_MAX_Z2), dispersionHalfLifeWindows),
  };
}

const resolvedPhase = (monitor: Monitor): Pick<SeriesState, 'phase' | 'cooldownLeft'> =>
  monitor.settings.cooldownWindows > 0 ? { phase: 'cooldown', cooldownLeft: monitor.settings.cooldownWindows } : { phase: 'ok', cooldownLeft: 0 };

const quiet = { anomalousRun: 0, normalRun: 0, incidentWindows: 0, since: null, page: 'none' } as const;

/** Advances one series by one window. Pure: never mutates `series`. */
export function stepSeries(series: SeriesState, window: WindowObservation, monitor: Monitor): SeriesStep {
  const settings = monitor.settings;
  const none = { transition: null, test: null } as const;
  if (series.lastAt !== null && window.at <= series.lastAt) return { ...none, series, verdict: 'duplicate', reference: null };

  const volume = isVolumeMonitor(monitor);
  const contiguous = series.lastAt !== null && window.at - series.lastAt === stepMinutesOf(settings) * 60_000;
  const reference = referenceFor(series, window, monitor);
  const current = { at: window.at, trials: window.trials, successes: volume ? window.trials : window.successes };
  const learning = series.phase === 'ok' || series.phase === 'cooldown';
  const recent = contiguous ? series.recent : [];
  const nextRecent = settings.evidenceWindows > 1 ? [...recent, current].slice(-(settings.evidenceWindows - 1)) : [];
  const trailing = (k: number): Proportion & { at: number } => {
    const windows = [...recent.slice(recent.length - (k - 1)), current];
    return { ...sum(windows), at: windows[0]?.at ?? window.at };
  };
  const maxSpan = Math.min(settings.evidenceWindows, recent.length + 1);
  // A thin conversion window (a small site; hourly windows of a sparse history) is judged together
  // with the thin windows just before it: on the shortest trailing run of contiguous windows, at
  // most evidenceWindows, that reaches minSample. Judged one by one, every window would be `insufficient`
  // and the series would never learn nor judge. The run slides with every window rather than being
  // judged once and emptied: fixed pools (the 2026-12-07 replay) straddled a 4-hour drop's start and
  // end, each mixing converting hours in (z 2.3 and 2.9), while the run that ends inside the drop
  // holds blocked hours only. A busy window (at least minSample on its own) is a run of one: live
  // behaviour on busy windows is unchanged. Volume monitors judge the expected count instead.
  let span = 1;
  if (!volume) {
    // Only over thin windows: a thin window after busy ones stays `insufficient`, as before runs slid.
    const thinBefore = (k: number) => (recent[recent.length - k]?.trials ?? Infinity) < settings.minSample;
    while (span < maxSpan && trailing(span).trials < settings.minSample && thinBefore(span)) span++;
  }
  const observed = span === 1 ? current : trailing(span);

  // Min-sample guard. Volume monitors judge the expected count (zero events is the anomaly to catch),
  // and a quiet source still has to build its baseline from somewhere.
  const sampleOk = volume ? reference !== null && reference.value >= settings.minSample : observed.trials >= settings.minSample;
  if (!sampleOk) {
    const learned = volume && learning ? absorb(series, window, null, monitor) : series;
    return { ...none, series: { ...learned, lastAt: window.at, recent: volume ? [] : nextRecent }, verdict: 'insufficient', reference };
  }
  const warm =
    reference !== null &&
    reference.trials >= settings.minSample &&
    (reference.source === 'lastWeek' || series.baselineWindows >= settings.warmupWindows);
  if (!warm) {
    // The overdispersion is learned during the warm-up too, so the first judged window is measured
    // against the noise the series really has: learned only from judged windows, it starts at the
    // prior (pure Poisson/binomial noise) and bursty traffic (one visitor's session is many events)
    // fires on its first judged windows. A replay of 90 simulated days raised exactly those two
    // false alarms (README, "Load your history").
    const rawZ = reference !== null && reference.trials >= settings.minSample ? testDrop(observed, span, reference, 1, monitor).z : null;
    const learned = learning ? absorb(series, current, rawZ, monitor) : series;
    return { ...none, series: { ...learned, lastAt: window.at, recent: nextRecent }, verdict: 'warmingUp', reference };
  }

  const inflation = dispersionFactor(series, monitor);
  const single = testDrop(observed, span, reference, inflation, monitor);
  let test = single;
  let firstAnomalousAt = observed.at;
  const detecting = series.phase === 'ok' || series.phase === 'pending';
  if (!single.anomalous && detecting && single.z >= MIN_SUPPORTING_Z) {
    for (let k = span + 1; k <= maxSpan; k++) {
      const longer = trailing(k);
      const combined = testDrop(longer, k, reference, inflation, monitor);
      if (combined.anomalous) {
        test = combined;
        firstAnomalousAt = longer.at;
        break;
      }
    }
  }
  const anomalous = test.anomalous;
  const verdict: Verdict = anomalous ? 'anomalous' : 'normal';
  const base = { ...series, lastAt: window.at, recent: nextRecent };
  const rawZ = single.z * Math.sqrt(inflation);
  const step = (next: SeriesState, transition: SeriesStep['transition'] = null): SeriesStep => ({ series: next, verdict, transition, test, reference });

  switch (series.phase) {
    case 'ok':
    case 'pending': {
      if (!anomalous) return step({ ...absorb(base, current, rawZ, monitor), ...quiet, phase: 'ok' });
      const run = series.phase === 'pending' ? series.anomalousRun + 1 : 1;
      const since = series.phase === 'pending' && series.since !== null ? series.since : firstAnomalousAt;
      if (run < settings.forWindows) return step({ ...base, phase: 'pending', anomalousRun: run, since });
      return step({ ...base, ...quiet, phase: 'firing', incidentWindows: 1, since }, 'fired');
    }
    case 'firing':
    case 'recovering': {
      const incidentWindows = series.incidentWindows + 1;
      if (incidentWindows >= settings.acceptNewLevelAfterWindows) {
        // The drop has lasted long enough to be the new level: restart the baseline from it.
        const restarted = absorb({ ...base, baseline: null, baselineWindows: 0 }, current, null, monitor);
        return step({ ...restarted, ...quiet, ...resolvedPhase(monitor) }, 'resolved');
      }
      if (anomalous) return step({ ...base, phase: 'firing', normalRun: 0, incidentWindows });
      const normalRun = series.normalRun + 1;
      if (normalRun < settings.keepFiringForWindows) return step({ ...base, phase: 'recovering', normalRun, incidentWindows });
      return step({ ...base, ...quiet, ...resolvedPhase(monitor) }, 'resolved');
    }
    case 'cooldown': {
      const learned = anomalous ? base : absorb(base, current, rawZ, monitor);
      const cooldownLeft = Math.max(0, series.cooldownLeft - 1);
      return step({ ...learned, ...quiet, phase: cooldownLeft > 0 ? 'cooldown' : 'ok', cooldownLeft });
    }
  }
}
