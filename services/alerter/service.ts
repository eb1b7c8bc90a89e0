import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { topicCodecs, type Topics } from '../../schemas/topics.js';
import { createKafkaProducer, type OutgoingRecord } from '../platform/kafka/producer.js';
import type { Logger } from '../platform/logging/logger.js';
import type { Component, Health } from '../platform/runtime/component.js';
import { restorePartition } from '../platform/streams/changelog.js';
import { decodeAlerterState, emptyAlerterState, encodeAlerterState, keepConfiguredMonitors, STATE_KEY, STATE_PARTITION, type AlerterState } from './alerter-state.js';
import { evaluateSeries, toAlertEvent, type AlertDecision, type DetectorState } from './core/detector.js';
import { renderSlackMessage, renderWebhookBody } from './core/messages.js';
import { ALL_SITES, type Monitor } from './core/monitors.js';
import { createAlerterMetrics } from './metrics.js';
import { observeWindow, sitesOfMonitor } from './observe.js';
import { planRound, type DueWindow } from './schedule.js';
import { abortableSleep, createWebhookQueue, fetchPoster, type PostWebhook, type WebhookQueue } from './webhook-queue.js';
import type { WindowSource } from './window-source.js';
import { mapLimited } from '../platform/concurrency/map-limited.js';

const HOUR_MS = 60 * 60_000;
const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;

export interface AlerterWebhookOptions {
  readonly url: string;
  readonly format: 'json' | 'slack';
  /** The HTTP POST; default Node's fetch to `url`. */
  readonly post?: PostWebhook;
  /** Deliveries waiting at most (oldest dropped beyond); default 1,000. */
  readonly maxQueue?: number;
  /** Attempts per delivery; default 8 (retries over 1.5 to 3 minutes with the default delays: 1–2, 2–4, … 30–60 s, jittered). */
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly timeoutMs?: number;
  /** How long a stop waits for queued deliveries (one attempt each) before giving up; default 5 s. */
  readonly stopGraceMs?: number;
  /** Backoff sleep; injected so tests drive time. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The backoff's jitter, in [0, 1); default Math.random. */
  readonly random?: () => number;
}

export interface AlerterServiceDeps {
  readonly kafka: Kafka;
  readonly topics: Topics;
  readonly source: WindowSource;
  readonly monitors: readonly Monitor[];
  readonly evaluateEveryMs: number;
  /** How long after a window closes before it is evaluated, so late data lands first. */
  readonly latenessMs: number;
  /** Catch-up horizon after downtime (and on the very first start); default 24 h. */
  readonly maxCatchUpMs?: number;
  /** Windows per round at most; a longer catch-up continues in the next rounds. Default 2,000. */
  readonly maxWindowsPerRound?: number;
  /** Sites seen this far back are evaluated, so a site whose traffic stops is still watched. Default 7 days. */
  readonly sitesLookbackMs?: number;
  readonly webhook?: AlerterWebhookOptions | undefined;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Starts the evaluation timer and returns its cancel; default setInterval. Tests pass a no-op and call evaluateNow(). */
  readonly every?: (ms: number, tick: () => void) => () => void;
  /** Consecutive failed rounds before /healthz reports unhealthy; default 3. */
  readonly unhealthyAfterFailures?: number;
}

export interface RoundSummary {
  /** Monitor windows evaluated in this round. */
  readonly windows: number;
  /** Closed windows left for the next round (catch-up bounded by maxWindowsPerRound). */
  readonly remaining: number;
  /** Alerts published in this round, in order. */
  readonly alerts: readonly AlertDecision[];
}

export interface AlerterService extends Component {
  /** Runs one evaluation round now (after any round in progress). Rejects when the round fails. */
  evaluateNow(): Promise<RoundSummary>;
  /** The current detector state and cursors (read-only view). */
  state(): AlerterState;
  /** Webhook deliveries waiting or in flight. */
  webhookBacklog(): number;
  /** Resolves once the webhook queue is empty (tests). */
  webhookIdle(): Promise<void>;
}

/** Sites of one window queried at once: enough to hide latency, few enough not to swamp ClickHouse. */
const SITE_QUERY_CONCURRENCY = 8;

const defaultEvery = (ms: number, tick: () => void) => {
  const timer = setInterval(tick, ms);
  return () => clearInterval(timer);
};

/**
 * The alerter: every `evaluateEveryMs` it evaluates each closed window since the last evaluated
 * one, per monitor × site, oldest first, with the pure detector; publishes each AlertDecision to
 * the `alerts` topic (key = alertId; the writer puts it in ClickHouse) and hands it to the webhook
 * queue, which never blocks detection; then snapshots detector state + cursors to the compacted
 * changelog, from which a restart resumes.
 *
 * Delivery is at-least-once: alerts of a window are on the topic before the window's cursor moves,
 * and the snapshot follows the round, so a crash in between re-evaluates those windows after the
 * restart and re-publishes the same alerts with the same alertId (the alerts table keeps one row
 * per alertId; webhook receivers can de-duplicate on `alert.alertId` + `type`).
 * One alerter instance per deployment: the state is a single record, not partitioned.
 */
export function createAlerterService(deps: AlerterServiceDeps): AlerterService {
  const now = deps.now ?? Date.now;
  const logger = deps.logger.child({ service: 'alerter' });
  const maxCatchUpMs = deps.maxCatchUpMs ?? DAY_MS;
  const maxWindowsPerRound = deps.maxWindowsPerRound ?? 2_000;
  const sitesLookbackMs = deps.sitesLookbackMs ?? WEEK_MS;
  const unhealthyAfterFailures = deps.unhealthyAfterFailures ?? 3;
  const every = deps.every ?? defaultEvery;
  const alertCodec = topicCodecs.alerts();
  // Compressed batches: the state record grows with sites × breakdown values; gzip keeps it well
  // under the broker's message size limit (the limit applies to the compressed batch).
  const producer = createKafkaProducer(deps.kafka, { name: 'alerter', compression: true });

  let webhook: WebhookQueue | null = null;
  const metrics = createAlerterMetrics(deps.registry, () => webhook?.size() ?? 0);
  if (deps.webhook) {
    const w = deps.webhook;
    webhook = createWebhookQueue({
      post: w.post ?? fetchPoster(w.url),
      maxQueue: w.maxQueue ?? 1_000,
      maxAttempts: w.maxAttempts ?? 8,
      baseDelayMs: w.baseDelayMs ?? 2_000,
      maxDelayMs: w.maxDelayMs ?? 60_000,
      timeoutMs: w.timeoutMs ?? 10_000,
      sleep: w.sleep ?? abortableSleep,
      random: w.random ?? Math.random,
      logger: logger.child({ component: 'webhook' }),
      hooks: {
        delivered: () => metrics.webhookDelivered.inc(),
        failed: () => metrics.webhookFailures.inc(),
        dropped: (_d, reason) => metrics.webhookDropped.inc({ reason }),
      },
    });
  }

  let state: AlerterState = emptyAlerterState();
  let started = false;
  let cancelTimer: (() => void) | null = null;
  let chain: Promise<unknown> = Promise.resolve();
  let busy = false;
  let consecutiveFailures = 0;
  let lastError: string | undefined;
  let lastRoundAt: number | null = null;
  let newestEvaluatedEnd: number | null = null;

  const anyAllSites = deps.monitors.some((m) => m.sites.includes(ALL_SITES));

  const webhookBody = (d: AlertDecision): string => {
    const event = toAlertEvent(d);
    return JSON.stringify(deps.webhook?.format === 'slack' ? renderSlackMessage(event, d.measure) : renderWebhookBody(event, d.measure));
  };

  const announce = (d: AlertDecision) => {
    metrics.alerts.inc({ monitor: d.monitor, status: d.status });
    const fields = { alertId: d.alertId, monitor: d.monitor, site: d.site, step: d.step, since: d.since, at: d.at, dropPct: d.dropPct, z: d.statistic, breakdown: d.breakdown };
    if (d.status === 'firing') logger.warn(fields, 'alert firing');
    else logger.info(fields, 'alert resolved');
    webhook?.enqueue({ id: `${d.alertId}:${d.status}`, body: webhookBody(d) });
  };

  /** Series of sites not evaluated for a while are forgotten, so the state stays bounded. */
  const pruneIdleSeries = (detector: DetectorState, at: number): DetectorState => {
    const horizon = at - sitesLookbackMs - maxCatchUpMs;
    const groups = Object.fromEntries(Object.entries(detector.groups).filter(([, g]) => g.parent.lastAt === null || g.parent.lastAt >= horizon));
    return Object.keys(groups).length === Object.keys(detector.groups).length ? detector : { ...detector, groups };
  };

  const saveSnapshot = async () => {
    try {
      state = { ...state, detector: pruneIdleSeries(state.detector, now()) };
      await producer.send([{ topic: deps.topics.alerterChangelog, key: STATE_KEY, value: encodeAlerterState(state, now()), partition: STATE_PARTITION }]);
    } catch (error) {
      metrics.snapshotFailures.inc();
      throw error;
    }
  };

  const round = async (): Promise<RoundSummary> => {
    const endTimer = metrics.roundSeconds.startTimer();
    const t = now();
    const plan = planRound({ monitors: deps.monitors, cursors: state.cursors, now: t, latenessMs: deps.latenessMs, maxCatchUpMs, maxWindows: maxWindowsPerRound });
    for (const [monitor, count] of Object.entries(plan.skipped)) {
      metrics.skipped.inc({ monitor }, count);
      logger.warn({ monitor, windows: count, maxCatchUpMs }, 'windows older than the catch-up horizon were not evaluated');
    }
    const published: AlertDecision[] = [];
    let advanced = false;
    try {
      if (plan.windows.length > 0) {
        const first = plan.windows[0]!.start;
        const last = plan.windows[plan.windows.length - 1]!.end;
        const discovered = anyAllSites ? await deps.source.sites(first - sitesLookbackMs, last) : [];
        for (const w of plan.windows) {
          const sites = sitesOfMonitor(w.monitor, discovered);
          const observed = await mapLimited(sites, SITE_QUERY_CONCURRENCY, (site) => observeWindow(deps.source, w.monitor, site, w));
          // The state only moves once the window's alerts are on the topic: a failure re-runs the window.
          let detector = state.detector;
          const events: AlertDecision[] = [];
          const suppressed: AlertDecision[] = [];
          const verdicts: string[] = [];
          sites.forEach((site, i) => {
            const { window, breakdowns } = observed[i]!;
            const result = evaluateSeries(detector, w.monitor, site, window, breakdowns);
            detector = result.detector;
            events.push(...result.events);
            suppressed.push(...result.suppressed);
            verdicts.push(result.verdict);
          });
          if (events.length > 0) {
            const records: OutgoingRecord[] = events.map((d) => ({ topic: deps.topics.alerts, key: d.alertId, value: alertCodec.encode(toAlertEvent(d)) }));
            await producer.send(records);
          }
          state = { detector, cursors: { ...state.cursors, [w.monitor.id]: w.start } };
          advanced = true;
          newestEvaluatedEnd = Math.max(newestEvaluatedEnd ?? w.end, w.end);
          metrics.windows.inc({ monitor: w.monitor.id });
          for (const verdict of verdicts) metrics.verdicts.inc({ monitor: w.monitor.id, verdict });
          for (const d of events) announce(d);
          for (const d of suppressed) {
            metrics.suppressed.inc({ monitor: d.monitor });
            logger.info({ alertId: d.alertId, monitor: d.monitor, site: d.site, since: d.since, at: d.at, reason: d.breakdownHint }, 'alert held back');
          }
          published.push(...events);
        }
        await saveSnapshot();
      }
      consecutiveFailures = 0;
      lastError = undefined;
      lastRoundAt = t;
      if (newestEvaluatedEnd !== null) metrics.lagSeconds.set((t - newestEvaluatedEnd) / 1000);
      if (plan.windows.length > 0) logger.debug({ windows: plan.windows.length, remaining: plan.remaining, alerts: published.length }, 'evaluation round done');
      return { windows: plan.windows.length, remaining: plan.remaining, alerts: published };
    } catch (error) {
      consecutiveFailures++;
      lastError = error instanceof Error ? error.message : String(error);
      metrics.roundFailures.inc();
      logger.error({ err: error, consecutiveFailures }, 'evaluation round failed; retrying next round');
      // Keep what was evaluated and published before the failure.
      if (advanced) await saveSnapshot().catch((e: unknown) => logger.warn({ err: e }, 'state snapshot failed'));
      throw error;
    } finally {
      endTimer();
    }
  };

  const evaluateNow = (): Promise<RoundSummary> => {
    const next = chain.then(round, round);
    chain = next.catch(() => undefined);
    return next;
  };

  const tick = () => {
    if (busy || !started) return;
    busy = true;
    evaluateNow()
      .catch(() => undefined) // logged by the round
      .finally(() => (busy = false));
  };

  return {
    name: 'alerter',
    async start() {
      await producer.start();
      const restored = await restorePartition(deps.kafka, deps.topics.alerterChangelog, STATE_PARTITION, logger);
      const bytes = restored.entries.get(STATE_KEY);
      if (bytes) {
        const decoded = decodeAlerterState(bytes);
        state = keepConfiguredMonitors(decoded, deps.monitors);
        logger.info({ savedAt: decoded.savedAt, series: Object.keys(state.detector.groups).length, cursors: state.cursors }, 'alerter state restored');
      } else {
        logger.info({ maxCatchUpMs }, 'no alerter state yet: starting from the catch-up horizon');
      }
      started = true;
      cancelTimer = every(deps.evaluateEveryMs, tick);
    },
    async stop() {
      started = false;
      cancelTimer?.();
      cancelTimer = null;
      await chain;
      await webhook?.stop(deps.webhook?.stopGraceMs ?? 5_000);
      await producer.stop();
    },
    health(): Health {
      const failing = consecutiveFailures >= unhealthyAfterFailures;
      return {
        ok: started && !failing,
        details: {
          started,
          consecutiveFailures,
          lastError,
          lastRoundAt,
          newestEvaluatedWindowEnd: newestEvaluatedEnd,
          webhookBacklog: webhook?.size() ?? 0,
          producer: producer.health(),
        },
      };
    },
    evaluateNow,
    state: () => state,
    webhookBacklog: () => webhook?.size() ?? 0,
    webhookIdle: async () => webhook?.idle(),
  };
}
