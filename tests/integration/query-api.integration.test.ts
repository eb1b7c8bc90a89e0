import pino from 'pino';
import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQueryApi } from '../../services/query-api/app.js';
import { ENDPOINTS } from '../../services/query-api/endpoints.js';
import * as R from '../../services/query-api/responses.js';
import { insertSampleData, sampleData } from '../support/query-api-sample-data.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';

// Wednesday noon: the sample's cohort weeks are 02-09 .. 03-02 and its funnel spans the last 20 h.
const NOW = Date.UTC(2026, 2, 4, 12);
const HOUR = 3_600_000;

let db: TestDatabase;
let api: FastifyInstance;

beforeAll(async () => {
  db = await freshDatabase('qapi');
  await insertSampleData(db.ch, sampleData(NOW));
  api = buildQueryApi({ clickhouse: db.ch, logger: pino({ level: 'silent' }), metrics: new Registry(), now: () => NOW });
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

/** GETs a URL, expects 200 and parses the body with the documented (strict) response schema. */
async function get<S extends z.ZodType>(url: string, schema: S): Promise<z.output<S>> {
  const response = await api.inject({ url });
  expect(response.statusCode, `${url}: ${response.body}`).toBe(200);
  return schema.parse(response.json());
}

async function badRequest(url: string): Promise<string> {
  const response = await api.inject({ url });
  expect(response.statusCode, `${url}: ${response.body}`).toBe(400);
  const body = R.ErrorResponse.parse(response.json());
  expect(body.error.code).toBe('bad_request');
  expect(response.body).not.toMatch(/at \w+ \(|DB::Exception/);
  return body.error.message;
}

const byStage = <T extends { stage: string }>(rows: T[]) => Object.fromEntries(rows.map((r) => [r.stage, r]));

describe('GET /api/funnel', () => {
  it('counts unique customers entering, converting and dropping per stage over the last 24 h', async () => {
    const f = await get('/api/funnel?site=shop', R.FunnelResponse);
    const s = byStage(f.stages);
    expect(s.awareness).toEqual({ stage: 'awareness', entries: 10, conversions: 6, dropoffs: 4, conversionRate: 0.6, shareOfTop: 1 });
    expect(s.consideration).toMatchObject({ entries: 6, conversions: 3, dropoffs: 2, conversionRate: 0.5, shareOfTop: 0.6 });
    expect(s.purchase).toMatchObject({ entries: 3, conversions: 1, dropoffs: 0 });
    expect(s.retention).toMatchObject({ entries: 1, conversions: 0 });
    expect(s.advocacy).toMatchObject({ entries: 0, conversionRate: null });
    expect(f.overallConversionRate).toBe(0.3);
    expect(f.from).toBe(new Date(NOW - 24 * HOUR).toISOString());
  });

  it('adds up all sites when no site is given', async () => {
    const s = byStage((await get('/api/funnel', R.FunnelResponse)).stages);
    expect(s.awareness).toMatchObject({ entries: 12, conversions: 7 });
    expect(s.consideration).toMatchObject({ entries: 7 });
  });

  it('filters by channel, device, campaign and segment', async () => {
    const awareness = async (q: string) => byStage((await get(`/api/funnel?site=shop&${q}`, R.FunnelResponse)).stages).awareness;
    expect(await awareness('channel=email')).toMatchObject({ entries: 4, conversions: 0, dropoffs: 4 });
    expect(await awareness('device=mobile')).toMatchObject({ entries: 5, conversions: 1, dropoffs: 4 });
    expect(await awareness('campaign=spring')).toMatchObject({ entries: 3, conversions: 3 });
    expect(await awareness('segment=vip')).toMatchObject({ entries: 1, conversions: 1 });
    expect(await awareness('channel=web&device=mobile')).toMatchObject({ entries: 1 });
  });

  it('takes an explicit window as ISO-8601 or epoch milliseconds', async () => {
    const from = new Date(NOW - 4 * 24 * HOUR).toISOString();
    const to = NOW - 2 * 24 * HOUR;
    const f = await get(`/api/funnel?site=shop&from=${from}&to=${to}`, R.FunnelResponse);
    expect(byStage(f.stages).awareness).toMatchObject({ entries: 1, conversions: 0 });
  });
});

describe('GET /api/dropoff', () => {
  it('explains a step by the dimension value that lost the most customers beyond the average', async () => {
    const d = await get('/api/dropoff?site=shop&stage=awareness', R.DropoffResponse);
    expect(d.steps).toHaveLength(1);
    const step = d.steps[0]!;
    expect(step).toMatchObject({ stage: 'awareness', entries: 10, conversions: 6, dropoffs: 4, dropoffRate: 0.4 });
    expect(step.explanation).toEqual({
      dimension: 'channel',
      value: 'email',
      excessDropoffs: 2.4,
      dropoffRate: 1,
      stepDropoffRate: 0.4,
    });
    expect(step.breakdown.device_type[0]).toMatchObject({ value: 'mobile', conversions: 1, dropoffs: 4, excessDropoffs: 2 });
    expect(step.breakdown.campaign.map((v) => v.value)).toEqual([null, 'spring']);
  });

  it('reports every stage when none is asked for', async () => {
    const d = await get('/api/dropoff?site=shop', R.DropoffResponse);
    expect(d.steps.map((s) => s.stage)).toEqual(['awareness', 'consideration', 'purchase', 'retention', 'advocacy']);
    expect(byStage(d.steps).consideration).toMatchObject({ conversions: 3, dropoffs: 2, dropoffRate: 0.4 });
    expect(byStage(d.steps).advocacy).toMatchObject({ dropoffRate: null, explanation: null });
  });
});

describe('GET /api/time-to-convert', () => {
  it('gives quantiles and a histogram of seconds to convert out of a stage', async () => {
    const t = await get('/api/time-to-convert?site=shop&fromStage=awareness', R.TimeToConvertResponse);
    expect(t.conversions).toBe(6); // c01's conversion was replayed: it still counts once
    expect(t.quantiles.p50).toBe(450);
    expect(t.histogram.map((b) => b.conversions)).toEqual([0, 2, 2, 1, 1, 0, 0, 0, 0]);
    expect(t.histogram[1]).toEqual({ label: '1-5 min', fromSeconds: 60, toSeconds: 300, conversions: 2 });
    expect(t.histogram.at(-1)!.toSeconds).toBeNull();
  });

  it('pools every stage without fromStage', async () => {
    const t = await get('/api/time-to-convert?site=shop', R.TimeToConvertResponse);
    expect(t.conversions).toBe(10);
    const c = await get('/api/time-to-convert?site=shop&fromStage=consideration', R.TimeToConvertResponse);
    expect(c.quantiles.p50).toBe(7200);
    expect(c.histogram.map((b) => b.conversions)).toEqual([0, 0, 0, 0, 2, 0, 1, 0, 0]);
  });

  it('answers an empty window with nulls, not zeros', async () => {
    const t = await get(`/api/time-to-convert?site=nowhere`, R.TimeToConvertResponse);
    expect(t.conversions).toBe(0);
    expect(t.quantiles).toEqual({ p50: null, p75: null, p90: null, p95: null, p99: null });
  });
});

describe('GET /api/stages/current', () => {
  it("counts customers by their latest stage, whenever it was reached", async () => {
    const c = await get('/api/stages/current?site=shop', R.CurrentStagesResponse);
    expect(c.customers).toBe(11);
    expect(Object.fromEntries(c.stages.map((s) => [s.stage, s.customers]))).toEqual({
      awareness: 6, // c07..c10, c99 (three days ago) and c05, who fell back
      consideration: 2,
      purchase: 2,
      retention: 1,
      advocacy: 0,
    });
    const other = await get('/api/stages/current?site=other', R.CurrentStagesResponse);
    expect(other.customers).toBe(2);
  });
});

describe('GET /api/stage-flow', () => {
  it('counts transitions by source and target, counting replays once', async () => {
    const f = await get('/api/stage-flow?site=shop', R.StageFlowResponse);
    const links = Object.fromEntries(f.links.map((l) => [`${l.source}>${l.target}`, l.transitions]));
    expect(links).toEqual({
      'new>awareness': 10,
      'awareness>consideration': 6,
      'consideration>purchase': 3,
      'consideration>awareness': 1,
      'purchase>retention': 1,
    });
  });
});

describe('GET /api/cohorts', () => {
  it('groups customers by week of first purchase and follows their weekly activity', async () => {
    const c = await get('/api/cohorts?weeks=4&site=shop', R.CohortsResponse);
    expect(c.cohorts.map((x) => [x.cohort, x.customers])).toEqual([
      ['2026-02-09', 2],
      ['2026-02-16', 1],
      ['2026-02-23', 0],
      ['2026-03-02', 0],
    ]);
    expect(c.cohorts[0]!.retention.map((w) => [w.active, w.purchasing])).toEqual([
      [2, 2],
      [1, 0],
      [0, 0],
      [1, 1],
    ]);
    expect(c.cohorts[0]!.retention[3]).toMatchObject({ activeRate: 0.5, purchasingRate: 0.5 });
    expect(c.cohorts[1]!.retention.map((w) => w.active)).toEqual([1, 1, 0]);
    expect(c.cohorts[3]!.retention).toEqual([{ week: 0, active: 0, purchasing: 0, activeRate: null, purchasingRate: null }]);
  });

  it('defaults to eight weeks', async () => {
    expect((await get('/api/cohorts', R.CohortsResponse)).cohorts).toHaveLength(8);
  });
});

describe('GET /api/churn', () => {
  it('lists the latest scores above the threshold, riskiest first, with reasons and next action', async () => {
    const c = await get('/api/churn', R.ChurnResponse);
    expect(c.atRisk).toBe(4);
    expect(c.customers.map((x) => [x.customerId, x.score])).toEqual([
      ['o1', 0.95],
      ['c02', 0.9],
      ['c03', 0.75],
      ['c04', 0.55],
    ]);
    expect(c.customers[1]).toMatchObject({
      reasons: ['no visit in 21 days', 'payment failed'],
      nextAction: 'call the customer',
      pAlive: 0.1,
      crossedThreshold: true,
      at: new Date(NOW - HOUR).toISOString(),
    });
  });

  it('uses only the newest score of a customer', async () => {
    const c = await get('/api/churn?minScore=0.25', R.ChurnResponse);
    expect(c.customers.find((x) => x.customerId === 'c05')).toMatchObject({ score: 0.3 });
  });

  it('limits the list, not the count, and filters by the site of the journey', async () => {
    const c = await get('/api/churn?site=shop&limit=2', R.ChurnResponse);
    expect(c.atRisk).toBe(3);
    expect(c.customers.map((x) => x.customerId)).toEqual(['c02', 'c03']);
    expect((await get('/api/churn?minScore=0.8', R.ChurnResponse)).atRisk).toBe(2);
  });
});

describe('GET /api/alerts', () => {
  it('lists alerts overlapping the window with their newest status', async () => {
    const a = await get('/api/alerts', R.AlertsResponse);
    expect(a.firing).toBe(1);
    expect(a.alerts.map((x) => [x.alertId, x.status])).toEqual([
      ['a2', 'firing'],
      ['a1', 'resolved'],
    ]);
    expect(a.alerts[1]).toMatchObject({
      since: new Date(NOW - 3 * HOUR).toISOString(),
      resolvedAt: new Date(NOW - 2 * HOUR).toISOString(),
      breakdownHint: 'channel=email',
    });
  });

  it('filters by status without resurrecting an older status of the same alert', async () => {
    expect((await get('/api/alerts?status=firing', R.AlertsResponse)).alerts.map((x) => x.alertId)).toEqual(['a2']);
    expect((await get('/api/alerts?status=resolved', R.AlertsResponse)).alerts.map((x) => x.alertId)).toEqual(['a1']);
  });

  it('finds older alerts in a longer window', async () => {
    const a = await get(`/api/alerts?from=${NOW - 6 * 24 * HOUR}`, R.AlertsResponse);
    expect(a.alerts.map((x) => x.alertId)).toEqual(['a2', 'a1', 'a3']);
  });
});

describe('GET /api/conversion-over-time', () => {
  it('gives an hourly series per step over 24 h, rate over decided outcomes', async () => {
    const c = await get('/api/conversion-over-time?site=shop&stage=awareness', R.ConversionOverTimeResponse);
    expect(c.bucket).toBe('hour');
    const s = c.series[0]!;
    expect(s).toMatchObject({ stage: 'awareness', conversions: 6, dropoffs: 4, rate: 0.6 });
    expect(s.points).toHaveLength(24);
    // Conversions happen 2 h after the sample's start (20 h ago), drop-offs 3 h after.
    const at = (t: number) => s.points.find((p) => p.t === t)!;
    expect(at(NOW - 18 * HOUR)).toEqual({ t: NOW - 18 * HOUR, conversions: 6, dropoffs: 0, rate: 1 });
    expect(at(NOW - 17 * HOUR)).toMatchObject({ conversions: 0, dropoffs: 4, rate: 0 });
    expect(at(NOW - HOUR).rate).toBeNull();
  });

  it('uses minutes for short windows and every step without a stage', async () => {
    const c = await get(`/api/conversion-over-time?from=${NOW - HOUR}`, R.ConversionOverTimeResponse);
    expect(c.bucket).toBe('minute');
    expect(c.series.map((s) => s.stage)).toEqual(['awareness', 'consideration', 'purchase', 'retention', 'advocacy']);
    expect(c.series[0]!.points).toHaveLength(60);
    const hourly = await get(`/api/conversion-over-time?bucket=hour&site=shop`, R.ConversionOverTimeResponse);
    expect(byStage(hourly.series).consideration).toMatchObject({ conversions: 3, dropoffs: 2 });
  });
});

describe('bad requests', () => {
  it('rejects unreadable dates and inverted windows, naming the parameter', async () => {
    expect(await badRequest('/api/funnel?from=yesterday')).toMatch(/^from: expected an ISO-8601/);
    expect(await badRequest('/api/stage-flow?to=2026-02-30T10:00:00Z')).toMatch(/^to: /);
    expect(await badRequest('/api/alerts?from=1772625600')).toMatch(/^from: /); // seconds, not ms
    expect(await badRequest(`/api/funnel?from=${NOW}&to=${NOW - HOUR}`)).toBe('from: must be before to');
  });

  it('rejects unknown stages, buckets, statuses, numbers out of range and unknown parameters', async () => {
    expect(await badRequest('/api/dropoff?stage=checkout')).toMatch(/^stage: expected one of awareness/);
    expect(await badRequest('/api/time-to-convert?fromStage=Purchase')).toMatch(/^fromStage: /);
    expect(await badRequest('/api/conversion-over-time?bucket=second')).toBe('bucket: expected minute or hour');
    expect(await badRequest(`/api/conversion-over-time?bucket=minute&from=${NOW - 30 * 24 * HOUR}`)).toMatch(/^bucket: more than 2000/);
    expect(await badRequest('/api/alerts?status=open')).toBe('status: expected firing or resolved');
    expect(await badRequest('/api/churn?limit=100000')).toBe('limit: expected at most 500');
    expect(await badRequest('/api/cohorts?weeks=0')).toBe('weeks: expected at least 1');
    expect(await badRequest('/api/funnel?stie=shop')).toBe('stie: unknown parameter');
  });

  it('treats SQL in any parameter as a plain value or rejects it, and the data stays intact', async () => {
    const evil = ["shop' OR '1'='1", "'; DROP DATABASE IF EXISTS default; --", 'shop\\', "') UNION ALL SELECT name FROM system.tables --"];
    for (const e of ENDPOINTS) {
      const names = Object.keys((e.query as unknown as { shape: Record<string, unknown> }).shape);
      for (const name of names) {
        for (const value of evil) {
          const response = await api.inject({ url: e.path, query: { [name]: value } });
          expect([200, 400], `${e.path}?${name}=${value}: ${response.body}`).toContain(response.statusCode);
          if (response.statusCode === 400) expect(response.json().error.message.startsWith(`${name}: `)).toBe(true);
        }
      }
    }
    // An injected site matches nothing rather than everything.
    const f = await get(`/api/funnel?site=${encodeURIComponent("shop' OR '1'='1")}`, R.FunnelResponse);
    expect(f.stages[0]!.entries).toBe(0);
    expect(byStage((await get('/api/funnel?site=shop', R.FunnelResponse)).stages).awareness!.entries).toBe(10);
  });
});

describe('GET /api/openapi.json', () => {
  it('is an OpenAPI 3.1 document of every endpoint with its parameters and response schema', async () => {
    const response = await api.inject({ url: '/api/openapi.json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json();
    expect(doc.openapi).toBe('3.1.0');
    const customerPaths = ['/api/customers/{id}', '/api/customers/{id}/timeline'];
    const adminPaths = ['/admin/v1/deletions', '/admin/v1/deletions/{id}'];
    expect(Object.keys(doc.paths).sort()).toEqual([...ENDPOINTS.map((e) => e.path), ...customerPaths, ...adminPaths, '/api/openapi.json'].sort());
    const funnel = doc.paths['/api/funnel'].get;
    expect(funnel.parameters.map((p: { name: string }) => p.name)).toEqual(['from', 'to', 'site', 'channel', 'campaign', 'device', 'segment']);
    expect(funnel.parameters[0]).toMatchObject({ in: 'query', required: false, schema: { type: 'string' } });
    const stage = doc.paths['/api/dropoff'].get.parameters.find((p: { name: string }) => p.name === 'stage');
    expect(stage.schema.enum).toEqual(['awareness', 'consideration', 'purchase', 'retention', 'advocacy']);
    expect(funnel.responses['200'].content['application/json'].schema.properties.stages.type).toBe('array');
    expect(doc.components.schemas.Error.properties.error.type).toBe('object');
  });
});
