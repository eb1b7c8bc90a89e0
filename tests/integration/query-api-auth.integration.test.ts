import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../services/platform/logging/logger.js';
import { loadApiKeys } from '../../services/query-api/config.js';
import { buildQueryApi } from '../../services/query-api/app.js';
import { insertStitchedCustomer, stitchedCustomer } from '../support/customer-profile-fixture.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { stopAfterEach } from '../support/cleanup.js';
import { startServiceProcess } from '../support/processes.js';

const NOW = Date.UTC(2026, 2, 4, 9);
const DASHBOARD_KEY = 'dash-0123456789abcdefghijklmnopqrstuvwxyz';
const PROFILES_KEY = 'prof-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210';
const UNKNOWN_KEY = 'nope-0123456789abcdefghijklmnopqrstuvwxyz';

const dir = mkdtempSync(join(tmpdir(), 'query-api-keys-'));
const keysFile = join(dir, 'keys.yaml');
writeFileSync(
  keysFile,
  ['keys:', '  - name: marketing', `    key: ${DASHBOARD_KEY}`, '    scope: dashboard', '  - name: crm', `    key: ${PROFILES_KEY}`, '    scope: profiles', ''].join('\n'),
);

/** Everything the API logs, at the most verbose level, as text. */
let logged = '';
const logSink = new Writable({
  write(chunk, _encoding, done) {
    logged += String(chunk);
    done();
  },
});

let db: TestDatabase;
let api: FastifyInstance;

beforeAll(async () => {
  db = await freshDatabase('auth');
  await insertStitchedCustomer(db.ch, stitchedCustomer(NOW));
  api = buildQueryApi({
    clickhouse: db.ch,
    logger: createLogger('query-api', 'trace', logSink),
    metrics: new Registry(),
    now: () => NOW,
    cacheTtlMs: 0,
    apiKeys: loadApiKeys(keysFile),
  });
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

const request = (url: string, key?: string) => api.inject({ url, headers: key === undefined ? {} : { authorization: `Bearer ${key}` } });

const AGGREGATE = '/api/funnel';
const PROFILE = `/api/customers/${encodeURIComponent('u:alice')}`;

describe('API keys (QUERY_API_KEYS_FILE)', () => {
  for (const url of [AGGREGATE, PROFILE, '/api/churn']) {
    it(`${url}: no key → 401 with a Bearer challenge and a JSON error`, async () => {
      const r = await request(url);
      expect(r.statusCode).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Bearer realm="query-api"');
      expect(r.json()).toEqual({ error: { code: 'unauthorized', message: 'an API key is required: send it as Authorization: Bearer <key>' } });
    });

    it(`${url}: an unknown key, or a key sent some other way → 401`, async () => {
      expect((await request(url, UNKNOWN_KEY)).json()).toEqual({ error: { code: 'unauthorized', message: 'the API key is not valid' } });
      expect((await request(url, PROFILES_KEY.slice(0, -1))).statusCode).toBe(401);
      expect((await request(url, `${PROFILES_KEY}x`)).statusCode).toBe(401);
      expect((await api.inject({ url, headers: { authorization: `Basic ${PROFILES_KEY}` } })).statusCode).toBe(401);
      expect((await api.inject({ url: `${url}?key=${PROFILES_KEY}` })).statusCode).toBe(401);
    });
  }

  it('an aggregate: 200 with a dashboard key and with a profiles key', async () => {
    const dashboard = await request(AGGREGATE, DASHBOARD_KEY);
    expect(dashboard.statusCode).toBe(200);
    expect(dashboard.json().stages.map((s: { stage: string }) => s.stage)).toEqual(['awareness', 'consideration', 'purchase', 'retention', 'advocacy']);
    expect((await request(AGGREGATE, PROFILES_KEY)).json()).toEqual(dashboard.json());
  });

  it('customer-level data: a dashboard key → 403 naming the scope, a profiles key → 200', async () => {
    for (const url of [PROFILE, `${PROFILE}/timeline`, '/api/churn']) {
      const refused = await request(url, DASHBOARD_KEY);
      expect([url, refused.statusCode]).toEqual([url, 403]);
      expect(refused.json()).toEqual({ error: { code: 'forbidden', message: 'this endpoint needs a key with scope profiles; key marketing has scope dashboard' } });
      expect([url, (await request(url, PROFILES_KEY)).statusCode]).toEqual([url, 200]);
    }
    expect((await request(PROFILE, PROFILES_KEY)).json().customerId).toBe('u:alice');
  });

  it('a refused request reaches neither validation nor ClickHouse: 401 before a 400', async () => {
    expect((await request('/api/funnel?nonsense=1')).statusCode).toBe(401);
    expect((await request('/api/funnel?nonsense=1', DASHBOARD_KEY)).statusCode).toBe(400);
  });

  it('the dashboard page, the OpenAPI document, /healthz-style ops routes stay open', async () => {
    expect((await api.inject({ url: '/' })).statusCode).toBe(200);
    expect((await api.inject({ url: '/app.js' })).statusCode).toBe(200);
    const doc = (await api.inject({ url: '/api/openapi.json' })).json();
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/api/funnel'].get.security).toEqual([{ apiKey: ['dashboard'] }]);
    expect(doc.paths['/api/churn'].get.security).toEqual([{ apiKey: ['profiles'] }]);
    expect(doc.paths['/api/customers/{id}'].get.security).toEqual([{ apiKey: ['profiles'] }]);
    expect(doc.paths['/api/customers/{id}/timeline'].get.security).toEqual([{ apiKey: ['profiles'] }]);
  });

  it('never logs a key: not the Authorization header, not the dashboard’s ?key=', async () => {
    logged = '';
    for (const key of [DASHBOARD_KEY, PROFILES_KEY, UNKNOWN_KEY]) {
      await request(AGGREGATE, key);
      await request(PROFILE, key);
      await api.inject({ url: `/?key=${encodeURIComponent(key)}&site=shop` });
      await api.inject({ url: `/api/funnel?site=shop&key=${key}`, headers: { authorization: `Bearer ${key}` } });
      await api.inject({ url: `/no-such-page?key=${key}` });
    }
    // The log is there (per-request lines at debug, with the key's name), and holds no key.
    expect(logged).toContain('"keyName":"crm"');
    expect(logged).toContain('"url":"/?key=[redacted]&site=shop"');
    for (const key of [DASHBOARD_KEY, PROFILES_KEY, UNKNOWN_KEY]) expect(logged).not.toContain(key.slice(5));
  });
});

describe('starting the query API', () => {
  const cleanup = stopAfterEach();
  const env = (extra: Record<string, string>) => ({ DATA_DIR: mkdtempSync(join(tmpdir(), 'query-api-start-')), QUERY_API_HTTP_PORT: '0', ...extra });

  it('refuses a non-loopback host without keys, exit 2, saying what to do', async () => {
    const svc = cleanup.process(startServiceProcess('services/query-api/main.ts', env({ HTTP_HOST: '0.0.0.0', QUERY_API_KEYS_FILE: '' })));
    expect(await svc.exited).toBe(2);
    expect(svc.output()).toContain('HTTP_HOST 0.0.0.0 is not a loopback address and QUERY_API_KEYS_FILE is not set');
  });

  it('refuses a bad keys file, exit 2, naming the file, line and field but not the key', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, ['keys:', '  - name: crm', '    key: short-secret', '    scope: everything', ''].join('\n'));
    const svc = cleanup.process(startServiceProcess('services/query-api/main.ts', env({ QUERY_API_KEYS_FILE: bad })));
    expect(await svc.exited).toBe(2);
    expect(svc.output()).toContain(`QUERY_API_KEYS_FILE ${bad}:3:10 keys[0].key: at least 24 characters`);
    expect(svc.output()).toMatch(new RegExp(`QUERY_API_KEYS_FILE ${bad}:4:12 keys\\[0\\]\\.scope: `));
    expect(svc.output()).not.toContain('short-secret');
  });
});
