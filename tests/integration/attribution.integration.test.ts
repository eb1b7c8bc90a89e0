import pino from 'pino';
import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMarkovAttribution } from '../../services/attribution/markov-run.js';
import { DEFAULT_CONVERSION_EVENTS, DEFAULT_IGNORED_CHANNELS } from '../../services/platform/attribution/journey-paths.js';
import { markovAttribution } from '../../services/platform/attribution/markov.js';
import { attributionCreditRow, chDateTime64 } from '../../services/platform/clickhouse/rows.js';
import { refreshSnapshots } from '../../services/platform/clickhouse/snapshots.js';
import { AttributionPartition } from '../../services/sessionizer/attribution/attribution-partition.js';
import { makeTouchpoint } from '../../schemas/test-touchpoint.js';
import type { AttributionCredit } from '../../schemas/journey.js';
import type { Touchpoint } from '../../schemas/touchpoint.js';
import { buildQueryApi } from '../../services/query-api/app.js';
import * as R from '../../services/query-api/responses.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';

const T = Date.UTC(2026, 10, 2);
const HOUR = 3_600_000;
const NOW = T + 30 * HOUR;
let db: TestDatabase;
let api: FastifyInstance;
let seq = 0;

/** A touchpoints row as the writer stores it (customer id as the journey step stitched it then). */
function tp(customer: string, ids: { anon?: string; user?: string }, channel: string, event: string, at: number, extra: { campaign?: string; revenue?: number } = {}) {
  return {
    message_id: `m${String(seq++).padStart(3, '0')}`, customer_id: customer, account_id: null, session_id: 's', type: 'track', event,
    anonymous_id: ids.anon ?? null, user_id: ids.user ?? null, source: 'wk', site: 'shop', channel, ts: chDateTime64(at), received_at: chDateTime64(at),
    url: null, path: null, utm_campaign: extra.campaign ?? null, device_type: 'desktop', segment: null, revenue: extra.revenue ?? null, late: false, properties: '{}',
  };
}

const ROWS = [
  // alice browses anonymously (search, then in-site pages), logs in, opens an email, buys, then clicks an ad.
  tp('a:x', { anon: 'x' }, 'search', 'Products Searched', T + 1 * HOUR),
  tp('a:x', { anon: 'x' }, 'web', 'Product Viewed', T + 1.2 * HOUR),
  tp('u:alice', { anon: 'x', user: 'alice' }, 'email', 'Email Link Clicked', T + 2 * HOUR, { campaign: 'spring' }),
  tp('u:alice', { anon: 'x', user: 'alice' }, 'other', 'Order Completed', T + 3 * HOUR, { revenue: 100 }),
  tp('u:alice', { anon: 'x', user: 'alice' }, 'ads', 'Ad Clicked', T + 4 * HOUR, { campaign: 'retarget' }),
  // bob: social twice, then direct, then buys.
  tp('u:bob', { user: 'bob' }, 'social', 'Social Post Clicked', T + 1 * HOUR),
  tp('u:bob', { user: 'bob' }, 'social', 'Social Post Clicked', T + 1.5 * HOUR),
  tp('u:bob', { user: 'bob' }, 'direct', 'Product Viewed', T + 2 * HOUR),
  tp('u:bob', { user: 'bob' }, 'other', 'Order Completed', T + 5 * HOUR, { revenue: 50 }),
  // carol searches and leaves; dave buys without any touch; erin opens an email and signs.
  tp('a:c', { anon: 'c' }, 'search', 'Products Searched', T + 1 * HOUR),
  tp('u:dave', { user: 'dave' }, 'other', 'Order Completed', T + 1 * HOUR),
  tp('u:erin', { user: 'erin' }, 'email', 'Email Link Clicked', T + 1 * HOUR, { campaign: 'spring' }),
  tp('u:erin', { user: 'erin' }, 'other', 'Contract Signed', T + 2 * HOUR),
  // another site and the day after: outside the period.
  { ...tp('u:zed', { user: 'zed' }, 'ads', 'Ad Clicked', T + 1 * HOUR), site: 'blog' },
  tp('u:erin', { user: 'erin' }, 'ads', 'Ad Clicked', T + 25 * HOUR),
];

const PATHS = [
  { channels: ['search', 'email'], conversions: 1, nulls: 0 },
  { channels: ['ads'], conversions: 0, nulls: 1 },
  { channels: ['social', 'direct'], conversions: 1, nulls: 0 },
  { channels: ['search'], conversions: 0, nulls: 1 },
  { channels: ['email'], conversions: 1, nulls: 0 },
];
const PERIOD = `from=${new Date(T).toISOString()}&to=${new Date(T + 24 * HOUR).toISOString()}&site=shop`;

/**
 * The journey step's attribution rows for ROWS, as it computes them: each customer's touchpoints in
 * order, alice's anonymous id merged into her user id (its state transferred) when she logs in.
 */
function journeyStepRows(): object[] {
  const p = new AttributionPartition();
  const credits: AttributionCredit[] = [];
  const ms = (t: string) => Date.parse(`${t.replace(' ', 'T')}Z`);
  for (const row of ROWS) {
    if (row.customer_id === 'u:alice' && p.get('a:x')) credits.push(...p.importCustomer('u:alice', p.exportCustomer('a:x')!));
    const touchpoint = makeTouchpoint({
      messageId: row.message_id, event: row.event, anonymousId: row.anonymous_id, userId: row.user_id, site: row.site, channel: row.channel as Touchpoint['channel'],
      timestamp: ms(row.ts), receivedAt: ms(row.received_at), utmCampaign: row.utm_campaign, revenue: row.revenue,
    });
    credits.push(...p.process({ customerId: row.customer_id, accountId: null, sessionId: 's', late: false, touchpoint }));
  }
  return credits.map(attributionCreditRow);
}

beforeAll(async () => {
  db = await freshDatabase('attr');
  await db.ch.client.insert({ table: `${db.database}.touchpoints`, values: ROWS, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: '' } });
  await db.ch.client.insert({ table: `${db.database}.attribution`, values: journeyStepRows(), format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: '' } });
  // attribution_hourly is refreshed on a schedule: the answers below are as of now.
  await refreshSnapshots(db.ch);
  api = buildQueryApi({ clickhouse: db.ch, logger: pino({ level: 'silent' }), metrics: new Registry(), now: () => NOW, cacheTtlMs: 0 });
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

async function get<T>(url: string, schema: { parse(v: unknown): T }): Promise<T> {
  const response = await api.inject({ url });
  expect(response.statusCode, `${url}: ${response.body}`).toBe(200);
  return schema.parse(response.json());
}

describe('attribution from ClickHouse', () => {
  it('cuts stitched journeys into paths, runs the Markov model over them, stores the run and serves it', async () => {
    const filter = { fromMs: T, toMs: T + 24 * HOUR, site: 'shop', conversionEvents: DEFAULT_CONVERSION_EVENTS, ignoredChannels: DEFAULT_IGNORED_CHANNELS, maxTouches: 32, maxPaths: 1000 };
    const run = await runMarkovAttribution(filter, { clickhouse: db.ch, now: () => NOW, newRunId: () => 'run-1' });
    expect(run).toMatchObject({ totalConversions: 3, totalNulls: 2, unattributedConversions: 1, distinctPaths: 6, pathsUsed: 5, maxSteps: 3 });
    const expected = markovAttribution(PATHS);
    const byChannel = (rows: { channel?: string; key?: string; conversions: number }[]) =>
      Object.fromEntries(rows.map((r) => [r.channel ?? r.key, Number(r.conversions.toFixed(9))]));
    expect(byChannel(run.channels)).toEqual(byChannel(expected.channels));

    const stored = await db.ch.client.query({ query: `SELECT count() AS n, uniqExact(run_id) AS runs, sum(conversions) AS total FROM ${db.database}.attribution_runs FINAL`, format: 'JSONEachRow' });
    const [s] = await stored.json<{ n: string; runs: string; total: number }>();
    expect([Number(s!.n), Number(s!.runs)]).toEqual([5, 1]);
    expect(s!.total).toBeCloseTo(3, 9);

    const answer = await get(`/api/attribution?${PERIOD}&model=markov`, R.AttributionResponse);
    expect(answer.models).toHaveLength(1);
    const markov = answer.models[0]!;
    expect(markov).toMatchObject({ model: 'markov', source: 'stored_run', runId: 'run-1', conversions: 3, unattributedConversions: 1, computedAt: new Date(NOW).toISOString() });
    expect(byChannel(markov.rows)).toEqual(byChannel(expected.channels));

    // Another period has no run: the same model is computed at query time.
    const other = await get(`/api/attribution?from=${new Date(T).toISOString()}&to=${new Date(T + 12 * HOUR).toISOString()}&site=shop&model=markov`, R.AttributionResponse);
    expect(other.models[0]).toMatchObject({ source: 'query_time', runId: null, conversions: 3 });
  });

  it('serves heuristic models from the journey step\'s attribution rows, per channel and per campaign, with revenue', async () => {
    const answer = await get(`/api/attribution?${PERIOD}&model=linear`, R.AttributionResponse);
    const linear = answer.models[0]!;
    expect(linear).toMatchObject({ model: 'linear', source: 'journey_step', conversions: 3, unattributedConversions: 1, truncated: false });
    // alice: search ½, email ½ of 100; bob: social ⅔, direct ⅓ of 50; erin: email 1, no revenue.
    const rows = Object.fromEntries(linear.rows.map((r) => [r.key, [Number(r.conversions.toFixed(6)), r.revenue === null ? null : Number(r.revenue.toFixed(6))]]));
    expect(rows).toEqual({ email: [1.5, 50], social: [0.666667, 33.333333], search: [0.5, 50], direct: [0.333333, 16.666667] });

    const campaigns = await get(`/api/attribution?${PERIOD}&model=first_touch&breakdown=campaign`, R.AttributionResponse);
    expect(Object.fromEntries(campaigns.models[0]!.rows.map((r) => [r.key, r.conversions]))).toEqual({ '(none)': 2, spring: 1 });

    const all = await get(`/api/attribution?${PERIOD}`, R.AttributionResponse);
    expect(all.models.map((m) => m.model)).toEqual(['markov', 'first_touch', 'last_touch', 'linear', 'position_based', 'time_decay']);
    for (const m of all.models) expect(m.rows.reduce((a, r) => a + r.conversions, 0)).toBeCloseTo(3, 9);

    const refused = await api.inject({ url: `/api/attribution?${PERIOD}&model=markov&breakdown=campaign` });
    expect(refused.statusCode).toBe(400);
  });

  it('counts the touchpoints that entered a conversion stage as the conversions when told to (ATTRIBUTION_CONVERSION_STAGES), by their transitions', async () => {
    const transition = (message: string, customer: string, to: string, at: number) => ({
      transition_id: `t-${message}-${to}`, customer_id: customer, account_id: null, from_stage: null, to_stage: to, at: chDateTime64(at), cause: 'rule:x',
      message_id: message, site: 'shop', channel: 'other', campaign: null, device_type: 'desktop', segment: null, referrer_customer_id: null, journey_number: 1,
    });
    const order = (customer: string) => ROWS.find((r) => r.customer_id === customer && r.event === 'Order Completed')!;
    const alice = order('u:alice');
    const bob = order('u:bob');
    await db.ch.client.insert({
      table: `${db.database}.stage_transitions`,
      values: [
        transition(alice.message_id, 'u:alice', 'purchase', Date.parse(`${alice.ts.replace(' ', 'T')}Z`)),
        // bob's order was a repeat purchase (retention), and a lapse has no touchpoint: neither is a conversion.
        transition(bob.message_id, 'u:bob', 'retention', Date.parse(`${bob.ts.replace(' ', 'T')}Z`)),
        transition('', 'u:erin', 'purchase', T + 3 * HOUR),
      ],
      format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplication_token: '' },
    });
    const filter = { fromMs: T, toMs: T + 24 * HOUR, site: 'shop', conversionEvents: [], conversionStages: ['purchase'], ignoredChannels: DEFAULT_IGNORED_CHANNELS, maxTouches: 32, maxPaths: 1000 };
    const run = await runMarkovAttribution(filter, { clickhouse: db.ch, now: () => NOW, newRunId: () => 'run-stages' });
    // alice's order alone converts; bob's and erin's journeys end without a conversion.
    const paths = [
      { channels: ['search', 'email'], conversions: 1, nulls: 0 },
      { channels: ['ads'], conversions: 0, nulls: 1 },
      { channels: ['social', 'direct'], conversions: 0, nulls: 1 },
      { channels: ['search'], conversions: 0, nulls: 1 },
      { channels: ['email'], conversions: 0, nulls: 1 },
    ];
    expect(run).toMatchObject({ totalConversions: 1, totalNulls: 4, unattributedConversions: 0, pathsUsed: 5 });
    const byChannel = (rows: { channel: string; conversions: number }[]) => Object.fromEntries(rows.map((r) => [r.channel, Number(r.conversions.toFixed(9))]));
    expect(byChannel(run.channels)).toEqual(byChannel(markovAttribution(paths).channels));
  });

  it('answers from the hourly snapshot exactly what attribution FINAL and the touchpoints say for the whole hours asked, corrections and replays included', async () => {
    const before = await db.ch.client.query({ query: `SELECT count() AS n FROM ${db.database}.attribution`, format: 'JSONEachRow' });
    expect(Number((await before.json<{ n: string }>())[0]!.n)).toBeGreaterThan(0);
    // On another site, so the answers above stay as they were: a conversion attributed, then
    // corrected by a late touch (version 2 replaces version 1 row by row and adds a touch), a second
    // conversion whose rows were written twice (a replay), and a conversion touchpoint without touches.
    const credit = (conversion: string, model: string, touch: string, channel: string, credit: number, version: number, at: number, campaign: string | null = null) => ({
      conversion_id: conversion, customer_id: `c-${conversion}`, site: 'outlet', converted_at: chDateTime64(at), model, touch_message_id: touch, channel, campaign,
      touch_at: chDateTime64(at - HOUR), credit, revenue_share: version === 2 ? credit * 10 : null, version,
    });
    const rows = [
      ...['linear', 'first_touch'].map((m) => credit('k1', m, 't1', 'search', 1, 1, T + 2.5 * HOUR)),
      credit('k1', 'linear', 't1', 'search', 0.5, 2, T + 2.5 * HOUR),
      credit('k1', 'linear', 't0', 'ads', 0.5, 2, T + 2.5 * HOUR, 'late'),
      credit('k1', 'first_touch', 't1', 'search', 0, 2, T + 2.5 * HOUR),
      credit('k1', 'first_touch', 't0', 'ads', 1, 2, T + 2.5 * HOUR, 'late'),
      ...['linear', 'first_touch'].map((m) => credit('k2', m, 't2', 'email', 1, 1, T + 7.25 * HOUR)),
    ];
    const insert = (values: object[]) => db.ch.client.insert({ table: `${db.database}.attribution`, values, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: '' } });
    await insert(rows);
    await insert(rows.slice(-2));
    const order = (at: number) => ({ ...tp('u:olga', { user: 'olga' }, 'other', 'Order Completed', at), site: 'outlet' });
    const orders = [order(T + 2.5 * HOUR), order(T + 7.25 * HOUR), order(T + 7.5 * HOUR)];
    await db.ch.client.insert({ table: `${db.database}.touchpoints`, values: [...orders, orders[2]!], format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: '' } });
    await refreshSnapshots(db.ch);

    // The same questions of the raw tables, for the whole hours covering each asked period.
    const raw = async (fromMs: number, toMs: number, model: string, key: string) => {
      const period = `converted_at >= fromUnixTimestamp64Milli(${fromMs}, 'UTC') AND converted_at < fromUnixTimestamp64Milli(${toMs}, 'UTC') AND site = 'outlet'`;
      const q = async <T>(query: string) => (await db.ch.client.query({ query, format: 'JSONEachRow' })).json<T>();
      const sums = await q<{ key: string; conversions: number; revenue: number | null }>(
        `SELECT ${key} AS key, sum(credit) AS conversions, sum(revenue_share) AS revenue FROM ${db.database}.attribution FINAL WHERE ${period} AND model = '${model}' GROUP BY key HAVING conversions > 0 ORDER BY key`,
      );
      const [n] = await q<{ attributed: string; total: string }>(
        `SELECT (SELECT uniqExact(conversion_id) FROM ${db.database}.attribution WHERE ${period}) AS attributed,
                (SELECT uniqExact(message_id) FROM ${db.database}.touchpoints WHERE site = 'outlet' AND event IN ('Order Completed', 'Contract Signed')
                   AND ts >= fromUnixTimestamp64Milli(${fromMs}, 'UTC') AND ts < fromUnixTimestamp64Milli(${toMs}, 'UTC')) AS total`,
      );
      return { sums: sums.map((r) => ({ key: r.key, conversions: Number(r.conversions.toFixed(9)), revenue: r.revenue === null ? null : Number(r.revenue.toFixed(9)) })), attributed: Number(n!.attributed), total: Number(n!.total) };
    };
    const cases = [
      { from: T, to: T + 24 * HOUR, covered: [T, T + 24 * HOUR] },
      // Inside the hours: widened to 02:00–08:00, which holds both conversions and all three orders.
      { from: T + 2.75 * HOUR, to: T + 7.1 * HOUR, covered: [T + 2 * HOUR, T + 8 * HOUR] },
      // One hour alone: the corrected conversion, and an order without any touch.
      { from: T + 7 * HOUR, to: T + 8 * HOUR, covered: [T + 7 * HOUR, T + 8 * HOUR] },
    ];
    for (const c of cases) {
      for (const [model, breakdown, key] of [
        ['linear', 'channel', 'channel'],
        ['first_touch', 'campaign', "ifNull(campaign, '(none)')"],
      ] as const) {
        const answer = await get(`/api/attribution?from=${c.from}&to=${c.to}&site=outlet&model=${model}&breakdown=${breakdown}`, R.AttributionResponse);
        expect([Date.parse(answer.from), Date.parse(answer.to)]).toEqual(c.covered);
        const expected = await raw(c.covered[0]!, c.covered[1]!, model, key);
        const m = answer.models[0]!;
        const got = [...m.rows].sort((a, b) => (a.key < b.key ? -1 : 1)).map((r) => ({ key: r.key, conversions: Number(r.conversions.toFixed(9)), revenue: r.revenue === null ? null : Number(r.revenue.toFixed(9)) }));
        expect(got).toEqual(expected.sums);
        expect([m.conversions, m.unattributedConversions]).toEqual([expected.attributed, expected.total - expected.attributed]);
      }
    }
    // The correction took: version 2's split, not version 1's whole credit to search.
    const whole = await get(`/api/attribution?from=${T}&to=${T + 24 * HOUR}&site=outlet&model=linear`, R.AttributionResponse);
    expect(Object.fromEntries(whole.models[0]!.rows.map((r) => [r.key, r.conversions]))).toEqual({ email: 1, search: 0.5, ads: 0.5 });
    expect([whole.models[0]!.conversions, whole.models[0]!.unattributedConversions]).toEqual([2, 1]);
  });

  it('lists the most common paths to conversion and to drop-off with their rates', async () => {
    const p = await get(`/api/paths?${PERIOD}&limit=2`, R.PathsResponse);
    expect(p).toMatchObject({ journeys: 5, conversions: 3, unattributedConversions: 1, distinctPaths: 6 });
    expect(p.toConversion.map((x) => x.path)).toEqual(['email', 'search > email']);
    expect(p.toDropoff).toEqual([
      { path: 'ads', journeys: 1, conversions: 0, dropoffs: 1, conversionRate: 0 },
      { path: 'search', journeys: 1, conversions: 0, dropoffs: 1, conversionRate: 0 },
    ]);
  });
});
