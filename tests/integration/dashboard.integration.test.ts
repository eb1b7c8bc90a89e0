import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { chromium, type Browser } from 'playwright-core';
import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQueryApi } from '../../services/query-api/app.js';
import { insertSampleData, sampleData } from '../support/query-api-sample-data.js';
import { stopAfterEach } from '../support/cleanup.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';

const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');
// The API's clock is fixed so the sample data sits in its default 24 h window.
const NOW = Date.UTC(2026, 2, 4, 12);
const PROFILES_KEY = 'dashboard-test-profiles-key-0123456789';
const DASHBOARD_KEY = 'dashboard-test-aggregates-key-0123456789';

let db: TestDatabase;
let api: FastifyInstance;
let baseUrl: string;
let browser: Browser;

beforeAll(async () => {
  db = await freshDatabase('dash');
  await insertSampleData(db.ch, sampleData(NOW));
  api = buildQueryApi({
    clickhouse: db.ch,
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
    now: () => NOW,
    apiKeys: [
      { name: 'analyst', key: PROFILES_KEY, scope: 'profiles' },
      { name: 'wall-screen', key: DASHBOARD_KEY, scope: 'dashboard' },
    ],
  });
  baseUrl = await api.listen({ port: 0, host: '127.0.0.1' });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await db?.drop();
});

async function json<T>(path: string): Promise<T> {
  const response = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${PROFILES_KEY}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

describe('dashboard', () => {
  const cleanup = stopAfterEach();
  it('serves the page, its script and echarts', async () => {
    const page = await fetch(`${baseUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('data-testid="headline-entries"');
    const echarts = await fetch(`${baseUrl}/vendor/echarts.min.js`);
    expect(echarts.status).toBe(200);
    expect(echarts.headers.get('content-type')).toContain('javascript');
    expect((await echarts.text()).length).toBeGreaterThan(500_000);
    expect((await fetch(`${baseUrl}/app.js`)).status).toBe(200);
  });

  it('shows headline numbers that match the API, refreshes live, and fits a 1366×768 screen', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    cleanup.defer(() => page.close());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    // The URL npm start prints: the key is taken once, kept in the tab, and leaves the address bar.
    await page.goto(`${baseUrl}/?key=${PROFILES_KEY}&site=`);
    await page.waitForSelector('body[data-refreshes]', { timeout: 30_000 });
    expect(page.url()).toBe(`${baseUrl}/?site=`);
    expect(await page.isHidden('[data-testid="key-form"]')).toBe(true);

    const funnel = await json<{ stages: { stage: string; entries: number }[]; overallConversionRate: number }>('/api/funnel');
    const alerts = await json<{ firing: number }>('/api/alerts');
    const churn = await json<{ atRisk: number; customers: { customerId: string }[] }>('/api/churn?limit=12');
    const stages = await json<{ customers: number }>('/api/stages/current');
    const value = (id: string) => page.getAttribute(`[data-testid="headline-${id}"]`, 'data-value');
    const text = (id: string) => page.textContent(`[data-testid="headline-${id}"]`);

    expect(await value('entries')).toBe(String(funnel.stages[0]!.entries));
    expect(await text('entries')).toBe('12');
    expect(await value('purchases')).toBe(String(funnel.stages.find((s) => s.stage === 'purchase')!.entries));
    expect(await value('conversion')).toBe(String(funnel.overallConversionRate));
    expect(await text('conversion')).toBe(`${(funnel.overallConversionRate * 100).toFixed(1)}%`);
    expect(await value('customers')).toBe(String(stages.customers));
    expect(await value('alerts')).toBe(String(alerts.firing));
    expect(await value('at-risk')).toBe(String(churn.atRisk));

    const rows = await page.$$eval('[data-testid="churn-table"] tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-customer')));
    expect(rows).toEqual(churn.customers.map((c) => c.customerId));
    expect(await page.textContent('[data-testid="dropoff-explanation"]')).toContain('channel = email');
    for (const id of ['funnel-chart', 'conversion-chart', 'flow-chart', 'stages-chart']) {
      expect(Number(await page.$eval(`#${id} canvas`, (c) => c.getAttribute('width'))), id).toBeGreaterThan(100);
    }

    // Live: another refresh lands within a few seconds.
    const first = Number(await page.getAttribute('body', 'data-refreshes'));
    await page.waitForFunction(`Number(document.body.dataset.refreshes) > ${first}`, undefined, { timeout: 10_000 });

    // Nothing scrolls or overflows on a laptop screen.
    const size = await page.evaluate<{ w: number; h: number }>(
      '({ w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight })',
    );
    expect(size.w).toBeLessThanOrEqual(1366);
    expect(size.h).toBeLessThanOrEqual(768);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png') });
    expect(errors).toEqual([]);
  });

  it('without a key asks for one, and logs in with the key typed there', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    cleanup.defer(() => page.close());
    await page.goto(`${baseUrl}/`);
    await page.waitForSelector('[data-testid="key-form"]:not([hidden])', { timeout: 30_000 });
    expect(await page.textContent('[data-testid="last-updated"]')).toContain('an API key is required');
    expect(await page.getAttribute('body', 'data-refreshes')).toBeNull();

    await page.fill('[data-testid="key-input"]', 'not-the-key-0123456789abcdefghij');
    await page.click('[data-testid="key-form"] button');
    await page.waitForFunction(`document.querySelector('[data-testid="last-updated"]').textContent.includes('not valid')`, undefined, { timeout: 30_000 });
    expect(await page.isVisible('[data-testid="key-form"]')).toBe(true);

    await page.fill('[data-testid="key-input"]', PROFILES_KEY);
    await page.click('[data-testid="key-form"] button');
    await page.waitForSelector('body[data-refreshes]', { timeout: 30_000 });
    expect(await page.isHidden('[data-testid="key-form"]')).toBe(true);
    const churn = await json<{ customers: { customerId: string }[] }>('/api/churn?limit=12');
    const rows = await page.$$eval('[data-testid="churn-table"] tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-customer')));
    expect(rows).toEqual(churn.customers.map((c) => c.customerId));
  });

  it('with a dashboard-scope key shows the aggregates and says the churn list needs a profiles key', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    cleanup.defer(() => page.close());
    await page.goto(`${baseUrl}/?key=${DASHBOARD_KEY}`);
    await page.waitForSelector('body[data-refreshes]', { timeout: 30_000 });
    const funnel = await json<{ stages: { entries: number }[] }>('/api/funnel');
    expect(await page.getAttribute('[data-testid="headline-entries"]', 'data-value')).toBe(String(funnel.stages[0]!.entries));
    expect(await page.textContent('[data-testid="headline-at-risk"]')).toBe('–');
    expect(await page.textContent('[data-testid="churn-table"] tbody')).toBe('Customer-level data needs a key of scope profiles');
  });
});
