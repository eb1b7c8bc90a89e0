import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { Registry } from 'prom-client';
import { runMarkovAttribution } from '../../services/attribution/markov-run.js';
import { hourWindow } from '../../services/platform/attribution/hour-window.js';
import { DEFAULT_CONVERSION_EVENTS, DEFAULT_IGNORED_CHANNELS, DEFAULT_MAX_PATH_TOUCHES } from '../../services/platform/attribution/journey-paths.js';
import { createClickHouse, type ClickHouse } from '../../services/platform/clickhouse/client.js';
import { migrate } from '../../services/platform/clickhouse/migrate.js';
import { refreshSnapshots } from '../../services/platform/clickhouse/snapshots.js';
import { buildQueryApi } from '../../services/query-api/app.js';

/**
 * Dashboard query latency at volume: loads synthetic journeys into a fresh database on the embedded
 * engine (generated inside ClickHouse with INSERT ... SELECT FROM numbers(), so no row crosses into
 * JS), then calls every dashboard endpoint through the query API and reports p50/p95 per endpoint.
 *
 * Volumes per N touchpoints: N/10 customers over 3 sites and 30 days (1 M at the issue's 10 M), N/5
 * funnel events, N/10 stage transitions, N/10 session versions, one churn score per customer, 200 alerts,
 * and N/2 attribution rows (N/50 conversions, the share of orders among the touchpoints, each with 5
 * touches under 5 models; a tenth of them in a second version, as corrections leave them).
 * Before the calls, a Markov run over the whole period (every site, as `npm run attribution` without
 * --site) is timed and stored: `markov` in the result; `/api/attribution` then reads it.
 */
export interface QueriesBenchOptions {
  touchpoints?: number;
  /** Customers the rows are spread over (default touchpoints / 10). */
  customers?: number;
  /** Calls per endpoint (default 30). */
  iterations?: number;
  /** An engine to use instead of a new embedded one (chdb allows one data dir per process). */
  clickhouse?: ClickHouse;
  /** Only the endpoints whose key starts with one of these (default: all), e.g. ['attribution']. */
  only?: readonly string[];
}

const DAY_MS = 86_400_000;
const STAGES = "['awareness', 'consideration', 'purchase', 'retention', 'advocacy']";
const SITES = "['shop', 'app', 'b2b']";
const CHANNELS = "['web', 'mobile', 'email', 'social', 'search', 'ads']";
const DEVICES = "['desktop', 'mobile', 'tablet']";
const SEGMENTS = "['smb', 'mid', 'enterprise', 'consumer']";

/** Shared row attributes: customer `cust` (site, segment bound to it), random h → channel, device, campaign, time. */
const dims = (nowMs: number) => `
  concat('c', toString(cust)) AS customer_id,
  ${SITES}[1 + cust % 3] AS site,
  ${CHANNELS}[1 + bitShiftRight(h, 8) % 6] AS channel,
  if(h % 3 = 0, concat('camp-', toString(h % 10)), NULL) AS campaign,
  ${DEVICES}[1 + bitShiftRight(h, 16) % 3] AS device_type,
  if(cust % 5 = 0, NULL, ${SEGMENTS}[1 + cust % 4]) AS segment,
  fromUnixTimestamp64Milli(toInt64(${nowMs} - bitShiftRight(h, 20) % ${30 * DAY_MS}), 'UTC') AS at`;

/**
 * `rows` generated rows with number, h (a hash of `hashOf`), cust (a customer) and the shared dims.
 * cust is h's low digits: a per-row choice made from other bits of h (bit shifts) is independent of the customer.
 */
const generated = (rows: number, hashOf: string, customers: number, nowMs: number) => `(
  SELECT *, ${dims(nowMs)}
  FROM (SELECT number, ${hashOf} AS h, h % ${customers} AS cust FROM numbers(${rows}))
)`;

/**
 * Rows of `conversions` conversions under every model, `touches` touches each, at `version`. The
 * current versions (5 touches) are conversions 0, 1, 2, …; the replaced ones (4 touches, version 4)
 * are conversions 0, 10, 20, …, with the same customer, site and time (hashed from the conversion).
 */
function attributionRows(conversions: number, touches: number, version: number, customers: number, nowMs: number): string {
  const perConversion = 5 * touches;
  const conv = `${version === 4 ? '10 * ' : ''}intDiv(number, ${perConversion})`;
  return `INSERT INTO {db}.attribution
  (conversion_id, customer_id, site, converted_at, model, touch_message_id, channel, campaign, touch_at, credit, revenue_share, version)
SELECT concat('conv-', toString(conv)), customer_id, site, at, model, concat('touch-', toString(conv), '-', toString(j)),
  ${CHANNELS}[2 + cityHash64(conv, j) % 5], if(cityHash64(conv, j, 1) % 3 = 0, concat('camp-', toString(cityHash64(conv, j) % 10)), NULL),
  at - toIntervalHour(6 * (${touches} - j)), credit, if(conv % 4 = 0, NULL, credit * 50), ${version}
FROM (
  SELECT *, ${conv} AS conv, intDiv(number % ${perConversion}, 5) AS j,
    ['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay'][1 + number % 5] AS model,
    [toFloat64(j = 0), toFloat64(j = ${touches - 1}), 1 / ${touches}, if(j = 0 OR j = ${touches - 1}, 0.4, 0.2 / ${touches - 2}), 1 / ${touches}][1 + number % 5] AS credit
  FROM ${generated(conversions * perConversion, `cityHash64(${conv}, 6)`, customers, nowMs)}
)`;
}

export const defaultCustomers = (touchpoints: number): number => Math.max(1, Math.floor(touchpoints / 10));

function loadStatements(n: number, customers: number, nowMs: number): Record<string, string> {
  const rows = (count: number, hashOf: string) => generated(count, hashOf, customers, nowMs);
  return {
    touchpoints: `INSERT INTO {db}.touchpoints
  (message_id, customer_id, account_id, session_id, type, event, anonymous_id, user_id, source, site, channel, ts, received_at,
   url, path, utm_campaign, device_type, segment, revenue, late, properties)
SELECT concat('m-', toString(number)), customer_id, if(cust % 10 = 0, concat('acct-', toString(cust % 1000)), NULL),
  concat('s-', toString(cust), '-', toString(intDiv(number, 7))), 'track',
  multiIf(bitShiftRight(h, 40) % 100 < 2, 'Order Completed', bitShiftRight(h, 40) % 100 < 3, 'Subscription Renewed',
    ['Product Viewed', 'Products Searched', 'Product Added', 'Checkout Started', 'Feature Used', 'Email Link Clicked'][1 + bitShiftRight(h, 24) % 6]) AS event,
  NULL, customer_id, 'web-sdk', site, channel, at, at + toIntervalMillisecond(200),
  concat('https://', site, '.example', path), ['/', '/products', '/cart', '/checkout', '/pricing'][1 + bitShiftRight(h, 28) % 5] AS path,
  campaign, device_type, segment, if(bitShiftRight(h, 40) % 100 < 3, round((h % 20000) / 100, 2), NULL), false, '{}'
FROM ${rows(n, 'cityHash64(number, 1)')}`,
    funnel_events: `INSERT INTO {db}.funnel_events
  (event_id, kind, from_stage, stage, at, customer_id, site, channel, campaign, device_type, segment, seconds_to_convert)
SELECT concat('fe-', toString(number)), kind, if(kind = 'conversion', ${STAGES}[1 + least(st, 3)], NULL),
  if(kind = 'conversion', ${STAGES}[2 + least(st, 3)], ${STAGES}[1 + st]), at, customer_id, site, channel, campaign, device_type, segment,
  if(kind = 'conversion', round(exp((bitShiftRight(h, 32) % 1200) / 100), 1), NULL)
FROM (
  SELECT *, multiIf(h % 100 < 50, 'entry', h % 100 < 80, 'conversion', 'dropoff') AS kind, bitShiftRight(h, 12) % 5 AS st
  FROM ${rows(Math.floor(n / 5), 'cityHash64(number, 2)')}
)`,
    stage_transitions: `INSERT INTO {db}.stage_transitions
  (transition_id, customer_id, account_id, from_stage, to_stage, at, cause, message_id, site, channel, campaign, device_type, segment,
   referrer_customer_id, journey_number)
SELECT concat('tr-', toString(number)), customer_id, NULL, if(st = 0, NULL, ${STAGES}[st]), ${STAGES}[1 + st], at,
  concat('rule:', ${STAGES}[1 + st]), concat('m-', toString(number)), site, channel, campaign, device_type, segment, NULL,
  1 + toUInt32(h % 7 = 0)
FROM (SELECT *, bitShiftRight(h, 12) % 5 AS st FROM ${rows(Math.floor(n / 10), 'cityHash64(number, 3)')})`,
    sessions: `INSERT INTO {db}.sessions
  (session_id, customer_id, status, version, site, started_at, ended_at, event_count, channels, entry_event, exit_event,
   entry_url, exit_url, furthest_stage, converted)
SELECT concat('sess-', toString(intDiv(number, 2))), customer_id, if(number % 2 = 0, 'opened', 'closed'), 1 + number % 2, site,
  at, at + toIntervalMinute(5), 1 + h % 30, [channel], 'Product Viewed', 'Checkout Started', NULL, NULL,
  ${STAGES}[1 + bitShiftRight(h, 12) % 5], h % 10 = 0
FROM ${rows(Math.floor(n / 10), 'cityHash64(intDiv(number, 2), 4)')}`,
    churn_scores: `INSERT INTO {db}.churn_scores (customer_id, at, score, p_alive, reasons, next_action, stage, crossed_threshold)
SELECT concat('c', toString(number)), fromUnixTimestamp64Milli(toInt64(${nowMs} - h % ${DAY_MS}), 'UTC'), (h % 1000) / 1000 AS score,
  1 - score, arraySlice(['no visit in 21 days', 'payment failed', 'fewer sessions', 'support ticket open'], 1, h % 3),
  ['send win-back email', 'call the customer', 'offer discount', 'none'][1 + bitShiftRight(h, 8) % 4], ${STAGES}[1 + bitShiftRight(h, 12) % 5], score >= 0.7
FROM (SELECT number, cityHash64(number, 5) AS h FROM numbers(${customers}))`,
    // Conversion `conv`: touch j of 5 under model m of 5 (credits as the models give 5 touches, time
    // decay as linear), the conversion's customer, site and time from its own hash, each touch's
    // channel and campaign from another.
    attribution: attributionRows(Math.floor(n / 50), 5, 5, customers, nowMs),
    // A tenth of the conversions also have the version a correction replaced (4 touches): FINAL drops them.
    attribution_replaced: attributionRows(Math.ceil(n / 500), 4, 4, customers, nowMs),
    alerts: `INSERT INTO {db}.alerts
  (alert_id, monitor, status, at, since, site, step, baseline_rate, observed_rate, drop_pct, statistic, breakdown_hint, dashboard_url)
SELECT concat('a', toString(number)), 'funnel-step-conversion', if(number % 4 = 0, 'firing', 'resolved'),
  fromUnixTimestamp64Milli(toInt64(${nowMs} - number * 3600000), 'UTC'), fromUnixTimestamp64Milli(toInt64(${nowMs} - number * 3600000 - 1800000), 'UTC'),
  ${SITES}[1 + number % 3], 'awareness->consideration', 0.6, 0.3, 50, 4.2, 'channel=email', '/'
FROM numbers(200)`,
  };
}

/** Creates `database` and fills it with the synthetic journeys, refreshes the snapshots; returns seconds spent per table (and on the refresh). */
export async function loadBenchData(
  engine: ClickHouse,
  database: string,
  touchpoints: number,
  nowMs: number,
  customers = defaultCustomers(touchpoints),
): Promise<Record<string, number>> {
  await migrate(engine.client, { database, touchpointTtlDays: 3650 });
  const load: Record<string, number> = {};
  for (const [table, sql] of Object.entries(loadStatements(touchpoints, customers, nowMs))) {
    const t0 = performance.now();
    await engine.client.command({ query: sql.replaceAll('{db}', database) });
    load[table] = round1((performance.now() - t0) / 1000);
  }
  // The snapshots take the loaded rows in at their next scheduled refresh: now, timed.
  const t0 = performance.now();
  await refreshSnapshots({ ...engine, database });
  load.snapshots = round1((performance.now() - t0) / 1000);
  return load;
}

/** The customer a profile or timeline call asks for: a different one each call, spread over all of them. */
const customerOf = (call: number, customers: number): string => `c${(call * 7_919 + 13) % customers}`;

/** Each endpoint's URL for the i-th call (only the customer endpoints vary per call). */
const URLS = (nowMs: number, customers: number): Record<string, string | ((call: number) => string)> => ({
  funnel: '/api/funnel?site=shop',
  'funnel 7d': `/api/funnel?site=shop&from=${nowMs - 7 * DAY_MS}`,
  dropoff: '/api/dropoff?site=shop',
  'time-to-convert': '/api/time-to-convert?site=shop&fromStage=awareness',
  'stages/current': '/api/stages/current?site=shop',
  'stage-flow': '/api/stage-flow?site=shop',
  cohorts: '/api/cohorts?weeks=8&site=shop',
  churn: '/api/churn?limit=12',
  'churn by site': '/api/churn?limit=12&site=shop',
  alerts: '/api/alerts',
  'conversion-over-time (hour)': '/api/conversion-over-time?site=shop',
  'conversion-over-time (minute, 3 h)': `/api/conversion-over-time?site=shop&from=${nowMs - 3 * 3_600_000}`,
  'customer profile': (call) => `/api/customers/${customerOf(call, customers)}`,
  'customer timeline': (call) => `/api/customers/${customerOf(call, customers)}/timeline?limit=50`,
  // The period of the stored Markov run (every site): the heuristic models from `attribution` FINAL, Markov from the run.
  'attribution (every model, 30 d)': `/api/attribution?${markovPeriod(nowMs)}`,
  'attribution (linear by campaign, shop, 30 d)': `/api/attribution?${markovPeriod(nowMs)}&site=shop&model=linear&breakdown=campaign`,
  'attribution (first touch, shop, 7 d)': `/api/attribution?from=${nowMs - 7 * DAY_MS}&to=${nowMs}&site=shop&model=first_touch`,
});

/** The bench's whole 30 days (rows are at most 30 days before now) in whole hours, as the API reads them: the Markov run's period. */
const markovWindow = (nowMs: number) => hourWindow({ fromMs: nowMs - 30 * DAY_MS, toMs: nowMs + 60_000 });
const markovPeriod = (nowMs: number): string => `from=${markovWindow(nowMs).fromMs}&to=${markovWindow(nowMs).toMs}`;

/** One `npm run attribution` over the bench's data (every site), timed: the paths' query and the Markov computation. */
async function timedMarkovRun(engine: ClickHouse, nowMs: number) {
  const started = performance.now();
  const run = await runMarkovAttribution(
    { ...markovWindow(nowMs), conversionEvents: DEFAULT_CONVERSION_EVENTS, ignoredChannels: DEFAULT_IGNORED_CHANNELS, maxTouches: DEFAULT_MAX_PATH_TOUCHES, maxPaths: 1_000_000 },
    { clickhouse: engine, now: () => nowMs, newRunId: () => 'bench-run' },
  );
  return {
    seconds: round1((performance.now() - started) / 1000),
    querySeconds: round1(run.queryMs / 1000),
    computeSeconds: Math.round(run.computeMs) / 1000,
    journeys: run.totalConversions + run.totalNulls,
    conversions: run.totalConversions,
    distinctPaths: run.distinctPaths,
    pathsUsed: run.pathsUsed,
    channels: run.channels.length,
  };
}

/** How long the bench waits at most for the engine's merges after the load. */
const MERGE_WAIT_MS = 300_000;

/**
 * Waits (at most MERGE_WAIT_MS) until no merge of `database` runs, as on a system some minutes after
 * a bulk load: the load's INSERT … SELECTs leave each table in parts of about a million rows, whose
 * background merges would otherwise share the two cores with the timed calls. Reports the wait and
 * the active parts per table then (a lookup by key reads every part), so a figure says what it
 * was measured on.
 */
async function settleMerges(engine: ClickHouse, database: string): Promise<{ waitedSeconds: number; settled: boolean; partsPerTable: Record<string, number> }> {
  const started = performance.now();
  const read = async <T>(query: string) => (await engine.client.query({ query, query_params: { d: database }, format: 'JSONEachRow' })).json<T>();
  let settled = false;
  while (performance.now() - started < MERGE_WAIT_MS) {
    const [running] = await read<{ n: string | number }>('SELECT count() AS n FROM system.merges WHERE database = {d:String}');
    if (Number(running?.n ?? 0) === 0) {
      settled = true;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  const parts = await read<{ table: string; parts: string | number }>('SELECT table, count() AS parts FROM system.parts WHERE database = {d:String} AND active GROUP BY table ORDER BY table');
  return { waitedSeconds: round1((performance.now() - started) / 1000), settled, partsPerTable: Object.fromEntries(parts.map((p) => [p.table, Number(p.parts)])) };
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const round1 = (x: number): number => Math.round(x * 10) / 10;

export async function runQueriesBench(opts: QueriesBenchOptions = {}): Promise<Record<string, unknown>> {
  const n = opts.touchpoints ?? 10_000_000;
  const customers = opts.customers ?? defaultCustomers(n);
  const iterations = opts.iterations ?? 30;
  const started = performance.now();
  const dataDir = opts.clickhouse ? undefined : mkdtempSync(join(tmpdir(), 'queries-bench-'));
  const engine = opts.clickhouse ?? createClickHouse({ database: 'default', dataDir: dataDir! });
  const database = `bench_${Date.now().toString(36)}`;
  const nowMs = Math.floor(Date.now() / 60_000) * 60_000;
  try {
    const load = await loadBenchData(engine, database, n, nowMs, customers);
    const merges = await settleMerges(engine, database);
    const counts = await (
      await engine.client.query({
        query: `SELECT table, sum(rows) AS rows FROM system.parts WHERE database = {d:String} AND active GROUP BY table ORDER BY table`,
        query_params: { d: database },
        format: 'JSONEachRow',
      })
    ).json<{ table: string; rows: string | number }>();

    const api = buildQueryApi({
      clickhouse: { ...engine, database },
      logger: pino({ level: 'warn' }),
      metrics: new Registry(),
      now: () => nowMs,
      cacheTtlMs: 0, // measure the store, not the API's result cache
    });
    const selected = Object.entries(URLS(nowMs, customers)).filter(([name]) => !opts.only || opts.only.some((prefix) => name.startsWith(prefix)));
    const markov = selected.some(([name]) => name.startsWith('attribution')) ? await timedMarkovRun({ ...engine, database }, nowMs) : undefined;
    const queries: Record<string, { p50: number; p95: number; max: number }> = {};
    for (const [name, urlOf] of selected) {
      const ms: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const url = typeof urlOf === 'string' ? urlOf : urlOf(i);
        const t0 = performance.now();
        const response = await api.inject({ url });
        ms.push(performance.now() - t0);
        if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${response.body}`);
      }
      ms.sort((a, b) => a - b);
      queries[name] = { p50: round1(percentile(ms, 50)), p95: round1(percentile(ms, 95)), max: round1(ms.at(-1)!) };
    }
    await api.close();
    return {
      touchpoints: n,
      customers,
      iterations,
      rows: Object.fromEntries(counts.map((c) => [c.table, Number(c.rows)])),
      loadSeconds: load,
      merges,
      queriesMs: queries,
      ...(markov ? { markov } : {}),
      ...(opts.only ? { only: opts.only } : {}),
      totalSeconds: round1((performance.now() - started) / 1000),
    };
  } finally {
    await engine.client.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => {});
    if (!opts.clickhouse) {
      await engine.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const touchpoints = process.argv[2] ? Number(process.argv[2]) : undefined;
  runQueriesBench(touchpoints ? { touchpoints } : {}).then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
