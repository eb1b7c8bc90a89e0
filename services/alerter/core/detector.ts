import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AlertEvent } from '../../../schemas/journey.js';
import { coveringMonitors, isVolumeMonitor, type BreakdownDimension, type Monitor } from './monitors.js';
import { supersededHint } from './messages.js';
import { describeRootCause, findRootCause, type SegmentOutcome } from './root-cause.js';
import { initialSeriesState, SeriesState, stepSeries, type DropTest, type SeriesStep, type Verdict, type WindowObservation } from './series.js';
import { ewmaPerWindow, ewmaRate, type Proportion } from './statistics.js';

export type { Verdict, DropTest } from './series.js';

/**
 * Counts for one window of one series as the ClickHouse queries deliver them. Conversion monitors:
 * `trials` entered the step, `successes` reached the next one. Volume monitors: `trials` is the
 * number of events and `successes` is ignored.
 */
export interface WindowCounts {
  /** Window start, epoch ms, on the monitor's step (stepMinutes, else windowMinutes). */
  readonly at: number;
  readonly trials: number;
  readonly successes: number;
  /** The same window one week earlier, for `baseline.kind: sameWindowLastWeek`. */
  readonly lastWeek?: Proportion;
}

export interface BreakdownCounts {
  readonly dimension: BreakdownDimension;
  readonly value: string;
  readonly trials: number;
  readonly successes: number;
  /** Expected rate (volume: expected events) if the adapter knows it; else the detector's own baseline. */
  readonly baselineRate?: number;
  readonly lastWeek?: Proportion;
}

/** Detector state of one monitor on one site: the site-wide series and one child per breakdown value. */
export const SeriesGroupState = z.object({
  monitorId: z.string(),
  site: z.string(),
  parent: SeriesState,
  children: z.record(z.string(), SeriesState),
});
export type SeriesGroupState = z.infer<typeof SeriesGroupState>;

/** An alert to publish: AlertEvent plus which breakdown series raised it and how to print the figures. */
export interface AlertDecision extends AlertEvent {
  readonly breakdown: { readonly dimension: BreakdownDimension; readonly value: string } | null;
  readonly measure: 'rate' | 'count';
}

export interface Evaluation {
  readonly state: SeriesGroupState;
  /** The alerts to publish and page. */
  readonly events: AlertDecision[];
  /**
   * Firing alerts held back because a site-wide incident covers them (`siteWide`): not published,
   * counted and logged. Their breakdownHint says why.
   */
  readonly suppressed: AlertDecision[];
  /** The site-wide verdict and test for this window (for metrics and debugging). */
  readonly verdict: Verdict;
  readonly test: DropTest | null;
}

/** A combined monitor covering the one evaluated, in an incident on the same site, and its alert. */
export interface SiteWideIncident {
  readonly monitor: string;
  readonly alertId: string;
}

/** Children in phase ok that have not been seen for a week are forgotten (campaigns come and go). */
const CHILD_RETENTION_MS = 7 * 24 * 60 * 60_000;

export const createSeriesGroup = (monitor: Monitor, site: string): SeriesGroupState => ({
  monitorId: monitor.id,
  site,
  parent: initialSeriesState(),
  children: {},
});

export const childKey = (dimension: string, value: string) => `${dimension}=${value}`;

/** Deterministic, so a replayed window re-publishes the same alertId and sinks can de-duplicate. */
export function alertIdFor(monitorId: string, site: string, breakdown: string | null, since: number): string {
  const digest = createHash('sha256').update(JSON.stringify([monitorId, site, breakdown ?? '', since])).digest('hex');
  return `alert-${digest.slice(0, 24)}`;
}

export function renderDashboardUrl(monitor: Monitor, fields: { site: string; since: number; at: number; breakdown: string | null }): string {
  const windowMs = monitor.settings.windowMinutes * 60_000;
  const values: Record<string, string> = {
    monitor: monitor.id,
    site: fields.site,
    step: monitor.step,
    since: String(fields.since),
    at: String(fields.at),
    from: String(fields.since - 12 * windowMs),
    to: String(fields.at + windowMs),
    breakdown: fields.breakdown ?? '',
  };
  return monitor.settings.dashboardUrl.replace(/\{([a-z]+)\}/g, (whole, name: string) =>
    name in values ? encodeURIComponent(values[name] as string) : whole,
  );
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

interface DecisionInput {
  readonly monitor: Monitor;
  readonly site: string;
  readonly at: number;
  readonly since: number;
  readonly step: SeriesStep;
  readonly status: 'firing' | 'resolved';
  readonly breakdown: { dimension: BreakdownDimension; value: string } | null;
  readonly hint: string | null;
}

function decision({ monitor, site, at, since, step, status, breakdown, hint }: DecisionInput): AlertDecision {
  const test = step.test;
  const key = breakdown === null ? null : childKey(breakdown.dimension, breakdown.value);
  return {
    alertId: alertIdFor(monitor.id, site, key, since),
    monitor: monitor.id,
    status,
    at,
    since,
    site,
    step: monitor.step,
    baselineRate: test?.baseline ?? step.reference?.value ?? 0,
    observedRate: test?.observed ?? 0,
    dropPct: round(100 * (test?.relativeDrop ?? 0), 2),
    statistic: round(test?.z ?? 0, 3),
    breakdownHint: hint,
    dashboardUrl: renderDashboardUrl(monitor, { site, since, at, breakdown: key }),
    breakdown,
    measure: isVolumeMonitor(monitor) ? 'count' : 'rate',
  };
}

/** Strips the detector-only fields: what goes on the alerts topic, webhook and table. */
export function toAlertEvent(d: AlertDecision): AlertEvent {
  const { breakdown: _breakdown, measure: _measure, ...event } = d;
  return event;
}

/** Expected outcome per breakdown value: adapter-supplied baseline, else the child's own, else the parent's. */
function segmentOutcomes(monitor: Monitor, breakdowns: readonly BreakdownCounts[], children: Record<string, SeriesState>, parentValue: number): SegmentOutcome[] {
  const volume = isVolumeMonitor(monitor);
  return breakdowns.flatMap((b): SegmentOutcome[] => {
    const child = children[childKey(b.dimension, b.value)];
    const ownBaseline = child?.baseline && child.baseline.trials >= monitor.settings.minSample ? child.baseline : null;
    if (volume) {
      const expected = b.baselineRate ?? (ownBaseline ? ewmaPerWindow(ownBaseline) : null);
      return expected === null ? [] : [{ dimension: b.dimension, value: b.value, weight: expected, observed: b.trials, expected }];
    }
    const rate = b.baselineRate ?? (ownBaseline ? ewmaRate(ownBaseline) : parentValue);
    return [{ dimension: b.dimension, value: b.value, weight: b.trials, observed: b.successes, expected: b.trials * rate }];
  });
}

/** The breakdown values tracked as their own series: already tracked, or among the busiest maxBreakdownValues. */
function trackedBreakdowns(monitor: Monitor, breakdowns: readonly BreakdownCounts[], children: Record<string, SeriesState>): BreakdownCounts[] {
  const limit = monitor.settings.maxBreakdownValues;
  return monitor.breakdowns.flatMap((dimension) =>
    breakdowns
      .filter((b) => b.dimension === dimension)
      .sort((a, b) => b.trials - a.trials || a.value.localeCompare(b.value))
      .filter((b, rank) => rank < limit || childKey(b.dimension, b.value) in children),
  );
}

const inIncident = (series: SeriesState) => series.phase === 'firing' || series.phase === 'recovering';

/**
 * Advances one monitor on one site by one window. Pure: returns a new state and the alerts to send.
 * De-duplication: a series fires once and stays silent until it resolves. Grouping: a breakdown
 * series' page is held for one window; if the site-wide series is in an incident by then (or
 * already was), the breakdown is folded into the site-wide alert's root-cause hint and resolves
 * silently; otherwise it pages on its own, one window late.
 *
 * `siteWide`: a combined monitor covering this one that is in an incident on this site
 * (`evaluateSeries` looks it up), else null. Then this monitor's firing is held back (returned in
 * `suppressed`, series page 'suppressed'): one whole-site stop, one page. A held-back series that is
 * still firing on a window evaluated once no covering incident is left pages then, under the same
 * alertId; one that recovers first resolves silently. A series that had already paged when the
 * site-wide incident began (its source stopped first) is *superseded*: its alert is resolved with a
 * hint naming the site-wide alert, so the on-call person has one open page for the one incident,
 * and from then on it is held back as above (paged again, same alertId, if its source is still down
 * once the site-wide alert has resolved).
 */
export function evaluate(
  state: SeriesGroupState,
  window: WindowCounts,
  breakdowns: readonly BreakdownCounts[] | undefined,
  monitor: Monitor,
  siteWide: SiteWideIncident | null = null,
): Evaluation {
  if (state.monitorId !== monitor.id) throw new Error(`state of monitor ${state.monitorId} evaluated with monitor ${monitor.id}`);
  const parentStep = stepSeries(state.parent, window, monitor);
  if (parentStep.verdict === 'duplicate') return { state, events: [], suppressed: [], verdict: 'duplicate', test: null };

  const site = state.site;
  const events: AlertDecision[] = [];
  const suppressed: AlertDecision[] = [];
  const relevant = (breakdowns ?? []).filter((b) => monitor.breakdowns.includes(b.dimension));
  const parentIncident = inIncident(parentStep.series);
  let parent: SeriesState = parentStep.series;

  if (parentStep.transition === 'fired') {
    const segments = segmentOutcomes(monitor, relevant, state.children, parentStep.test?.baseline ?? 0);
    const cause = findRootCause(segments);
    const since = parentStep.series.since ?? window.at;
    if (siteWide === null) {
      const hint = cause === null ? null : describeRootCause(cause, isVolumeMonitor(monitor) ? 'count' : 'rate');
      events.push(decision({ monitor, site, at: window.at, since, step: parentStep, status: 'firing', breakdown: null, hint }));
      parent = { ...parent, page: 'sent' };
    } else {
      const hint = `held back: ${siteWide.monitor} is firing on ${site}`;
      suppressed.push(decision({ monitor, site, at: window.at, since, step: parentStep, status: 'firing', breakdown: null, hint }));
      parent = { ...parent, page: 'suppressed' };
    }
  } else if (parentStep.transition === 'resolved') {
    // A held-back alert was never paged, so its resolution is not either.
    if (state.parent.page !== 'suppressed') {
      const since = state.parent.since ?? window.at;
      events.push(decision({ monitor, site, at: window.at, since, step: parentStep, status: 'resolved', breakdown: null, hint: null }));
    }
  } else if (parent.page === 'sent' && parentIncident && siteWide !== null) {
    // Superseded: this source paged first, and now its whole site is down. Its page is closed in
    // favour of the site-wide one (same figures, this window's), and it is held back from here on.
    const hint = supersededHint(siteWide.monitor, site, siteWide.alertId);
    events.push(decision({ monitor, site, at: window.at, since: parent.since ?? window.at, step: parentStep, status: 'resolved', breakdown: null, hint }));
    parent = { ...parent, page: 'suppressed' };
  } else if (parent.page === 'suppressed' && parentStep.verdict === 'anomalous' && siteWide === null) {
    // Released: the site-wide incident is over and this window still shows this source's drop.
    const hint = `held back while a site-wide alert was firing on ${site}; still firing after it resolved`;
    events.push(decision({ monitor, site, at: window.at, since: parent.since ?? window.at, step: parentStep, status: 'firing', breakdown: null, hint }));
    parent = { ...parent, page: 'sent' };
  }

  const children: Record<string, SeriesState> = { ...state.children };
  for (const b of trackedBreakdowns(monitor, relevant, state.children)) {
    const key = childKey(b.dimension, b.value);
    const before = state.children[key] ?? initialSeriesState();
    const childWindow: WindowObservation = { at: window.at, trials: b.trials, successes: b.successes, lastWeek: b.lastWeek };
    const childStep = stepSeries(before, childWindow, monitor);
    let after = childStep.series;
    const breakdown = { dimension: b.dimension, value: b.value };
    if (childStep.transition === 'fired') {
      after = { ...after, page: parentIncident ? 'folded' : 'held' };
    } else if (childStep.transition === 'resolved') {
      if (before.page === 'sent') {
        events.push(decision({ monitor, site, at: window.at, since: before.since ?? window.at, step: childStep, status: 'resolved', breakdown, hint: null }));
      }
    } else if (after.page === 'held' && (after.phase === 'firing' || after.phase === 'recovering') && childStep.verdict !== 'duplicate') {
      if (parentIncident) after = { ...after, page: 'folded' };
      else {
        const hint = `${key} only; ${site} overall is within its normal range`;
        events.push(decision({ monitor, site, at: window.at, since: after.since ?? window.at, step: childStep, status: 'firing', breakdown, hint }));
        after = { ...after, page: 'sent' };
      }
    }
    children[key] = after;
  }
  for (const [key, child] of Object.entries(children)) {
    if (child.phase === 'ok' && child.lastAt !== null && window.at - child.lastAt > CHILD_RETENTION_MS) delete children[key];
  }

  return { state: { ...state, parent, children }, events, suppressed, verdict: parentStep.verdict, test: parentStep.test };
}

/** Every series the alerter tracks, keyed by monitor and site; what `snapshot`/`restore` persist. */
export const DetectorState = z.object({ version: z.literal(1), groups: z.record(z.string(), SeriesGroupState) });
export type DetectorState = z.infer<typeof DetectorState>;

export const emptyDetectorState = (): DetectorState => ({ version: 1, groups: {} });
export const groupKey = (monitorId: string, site: string) => JSON.stringify([monitorId, site]);

/**
 * The first monitor covering `monitor` (`coveredBy`) that is in an incident on `site` in `detector`,
 * else null. The schedule evaluates covering monitors before the ones they cover when their windows
 * end together (`planRound`), so this is their state up to the same window end whatever the file order.
 */
export function siteWideIncident(detector: DetectorState, monitor: Monitor, site: string): SiteWideIncident | null {
  for (const id of coveringMonitors(monitor)) {
    const group = detector.groups[groupKey(id, site)];
    if (group !== undefined && inIncident(group.parent)) return { monitor: id, alertId: alertIdFor(id, site, null, group.parent.since ?? 0) };
  }
  return null;
}

/**
 * `evaluate` on the group for (monitor, site) inside the whole detector state, creating it on first
 * sight, with the site-wide incident (if any) of the monitors covering it.
 */
export function evaluateSeries(
  detector: DetectorState,
  monitor: Monitor,
  site: string,
  window: WindowCounts,
  breakdowns?: readonly BreakdownCounts[],
): Evaluation & { detector: DetectorState } {
  const key = groupKey(monitor.id, site);
  const result = evaluate(detector.groups[key] ?? createSeriesGroup(monitor, site), window, breakdowns, monitor, siteWideIncident(detector, monitor, site));
  return { ...result, detector: { ...detector, groups: { ...detector.groups, [key]: result.state } } };
}

export class DetectorStateError extends Error {
  readonly retriable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DetectorStateError';
  }
}

export const snapshot = (state: DetectorState): string => JSON.stringify(state);

/** Parses a snapshot; a corrupt or foreign one is an error rather than a silently empty baseline. */
export function restore(json: string): DetectorState {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (cause) {
    throw new DetectorStateError('detector snapshot is not JSON', { cause });
  }
  const parsed = DetectorState.safeParse(raw);
  if (!parsed.success) throw new DetectorStateError(`detector snapshot is invalid: ${z.prettifyError(parsed.error)}`, { cause: parsed.error });
  return parsed.data;
}
