import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createClickHouse, type ClickHouse } from '../../services/platform/clickhouse/client.js';
import { migrate } from '../../services/platform/clickhouse/migrate.js';
import { buildQueryApi } from '../../services/query-api/app.js';

/**
 * Dashboard query latency at volume: loads synthetic journeys into a fresh database on the embedded
 * engine (generated inside ClickHouse with INSERT ... SELECT FROM numbers(), so no row crosses into
 * JS), then calls every dashboard endpoint through the query API and reports p50/p95 per endpoint.
 *
 * Volumes per N touchpoints: N/10 customers over 3 sites and 30 days (1 M at the 10 M), N/5
 * funnel events, N/10 stage transitions, N/10 session versions, one churn score per customer, 200 alerts.
 */
export interface QueriesBenchOptions {
  touchpoints?: number;
  /** Customers the rows are spread over (default touchpoints / 10). */
  customers?: number;
  /** Calls per endpoint (default 30). */
  iterations?: number;
  /** An engine to use instead of a new embedded one (chdb allows one data dir per process). */
  clickhouse?: ClickHouse;
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

/** `rows` generated rows with number, h (a hash of `hashOf`), cust (a customer) and the shared dims. */
const generated = (rows: number, hashOf: string, customers: number, nowMs: number) => `(
  SELECT *, ${dims(nowMs)}
  FROM (SELECT number, ${hashOf} AS h, h % ${customers} AS cust FROM numbers(${rows}))
)`;

export const defaultCustomers = (touchpoints: number): number => Math.max(1, Math.floor(touchpoints / 10));

function loadStatements(n: number, customers: number, nowMs: number): Record<string, string> {
  const rows = (count: number, hashOf: string) => generated(count, hashOf, customers, nowMs);
  return {
    touchpoints: `INSERT INTO {db}.touchpoints
  (message_id, customer_id, account_id, session_id, type, event, anonymous_id, user_id, source, site, channel, ts, received_at,
   url, path, utm_campaign, device_type, segment, revenue, late, properties)
SELECT concat('m-', toString(number)), customer_id, if(cust % 10 = 0, concat('acct-', toString(cust % 1000)), NULL),
  concat('s-', toString(cust), '-', toString(intDiv(number, 7))), 'track',
  multiIf(h % 100 < 2, 'Order Completed', h % 100 < 3, 'Subscription Renewed',
    ['Product Viewed', 'Products Searched', 'Product Added', 'Checkout Started', 'Feature Used', 'Email Link Clicked'][1 + bitShiftRight(h, 24) % 6]) AS event,
  NULL, customer_id, 'web-sdk', site, channel, at, at + toIntervalMillisecond(200),
  concat('https://', site, '.example', path), ['/', '/products', '/cart', '/checkout', '/pricing'][1 + bitShiftRight(h, 28) % 5] AS path,
  campaign, device_type, segment, if(h % 100 < 3, round((h % 20000) / 100, 2), NULL), false, '{}'
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
    alerts: `INSERT INTO {db}.alerts
  (alert_id, monitor, status, at, since, site, step, baseline_rate, observed_rate, drop_pct, statistic, breakdown_hint, dashboard_url)
SELECT concat('a', toString(number)), 'funnel-step-conversion', if(number % 4 = 0, 'firing', 'resolved'),
  fromUnixTimestamp64Milli(toInt64(${nowMs} - number * 3600000), 'UTC'), fromUnixTimestamp64Milli(toInt64(${nowMs} - number * 3600000 - 1800000), 'UTC'),
  ${SITES}[1 + number % 3], 'awareness->consideration', 0.6, 0.3, 50, 4.2, 'channel=email', '/'
FROM numbers(200)`,
  };
}

/** Creates `database` and fills it with the synthetic journeys; returns seconds spent per table. */
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
});

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
    const queries: Record<string, { p50: number; p95: number; max: number }> = {};
    for (const [name, urlOf] of Object.entries(URLS(nowMs, customers))) {
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
      queriesMs: queries,
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
