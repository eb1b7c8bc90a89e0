import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ClickHouse } from '../platform/clickhouse/client.js';
import { buildQueryApi } from './app.js';
import { ENDPOINTS } from './endpoints.js';

interface Recorded {
  query: string;
  query_params: Record<string, unknown>;
  clickhouse_settings?: Record<string, unknown>;
}

/** A ClickHouse stand-in that records queries and answers with no rows (or fails on demand). */
function fakeClickHouse(mode: ClickHouse['mode'], fail = false) {
  const queries: Recorded[] = [];
  const client = {
    query: async (q: Recorded) => {
      queries.push(q);
      if (fail) throw new Error('Code: 210. connection refused');
      return { json: async () => [] };
    },
  };
  return { ch: { client, mode, database: 'journey', close: async () => {} } as unknown as ClickHouse, queries };
}

const NOW = Date.UTC(2026, 2, 4, 12);
const app = (ch: ClickHouse) => buildQueryApi({ clickhouse: ch, logger: pino({ level: 'silent' }), metrics: new Registry(), now: () => NOW });

const INJECTIONS = ["x' OR '1'='1", "'; DROP TABLE journey.touchpoints; --", 'a}{site:String}', '1) UNION SELECT * FROM system.users --'];

/** Parameters each endpoint takes, from its schema. */
const paramsOf = (path: string): string[] => {
  const shape = (ENDPOINTS.find((e) => e.path === path)!.query as unknown as { shape: Record<string, unknown> }).shape;
  return Object.keys(shape);
};

describe('query API without a store', () => {
  it('never puts a request value into SQL text: each is rejected or bound as a parameter', async () => {
    const { ch, queries } = fakeClickHouse('embedded');
    const api = app(ch);
    for (const e of ENDPOINTS) {
      for (const name of paramsOf(e.path)) {
        for (const evil of INJECTIONS) {
          queries.length = 0;
          const response = await api.inject({ url: e.path, query: { [name]: evil } });
          expect([200, 400], `${e.path}?${name}=${evil}`).toContain(response.statusCode);
          if (response.statusCode === 400) expect(response.json().error.message).toMatch(new RegExp(`^${name}: `));
          for (const q of queries) {
            expect(q.query).not.toContain(evil);
            if (response.statusCode === 200) expect(Object.values(q.query_params)).toContain(evil);
          }
        }
      }
    }
    await api.close();
  });

  it('answers ClickHouse failures with 503 and no internals', async () => {
    const { ch } = fakeClickHouse('server', true);
    const api = app(ch);
    const response = await api.inject({ url: '/api/funnel' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ error: { code: 'upstream_unavailable', message: 'the analytics store did not answer; try again' } });
    expect(response.body).not.toContain('Code: 210');
    await api.close();
  });

  it('marks every query readonly on a server, and sets nothing on the embedded engine where settings outlive the query', async () => {
    const server = fakeClickHouse('server');
    const embedded = fakeClickHouse('embedded');
    for (const { ch } of [server, embedded]) {
      const api = app(ch);
      for (const e of ENDPOINTS) expect((await api.inject({ url: e.path })).statusCode, e.path).toBe(200);
      await api.close();
    }
    expect(server.queries.length).toBeGreaterThanOrEqual(ENDPOINTS.length);
    for (const q of server.queries) expect(q.clickhouse_settings).toMatchObject({ readonly: '2' });
    for (const q of embedded.queries) expect(q.clickhouse_settings).toBeUndefined();
  });

  it('qualifies every table with the configured database', async () => {
    const { ch, queries } = fakeClickHouse('embedded');
    const api = app(ch);
    for (const e of ENDPOINTS) await api.inject({ url: e.path });
    for (const q of queries) {
      expect(q.query).not.toContain('{db}');
      expect(q.query).toMatch(/FROM journey\./);
    }
    await api.close();
  });

  it('times queries per endpoint in the given registry', async () => {
    const { ch } = fakeClickHouse('embedded');
    const registry = new Registry();
    const api = buildQueryApi({ clickhouse: ch, logger: pino({ level: 'silent' }), metrics: registry, now: () => NOW });
    await api.inject({ url: '/api/churn' });
    const text = await registry.metrics();
    expect(text).toContain('query_api_clickhouse_query_duration_seconds_count{endpoint="churn",outcome="ok"} 1');
    await api.close();
  });

  it('describes every endpoint in its OpenAPI document', async () => {
    const { ch } = fakeClickHouse('embedded');
    const api = app(ch);
    const doc = (await api.inject({ url: '/api/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    for (const e of ENDPOINTS) {
      const op = doc.paths[e.path].get;
      expect(op.parameters.map((p: { name: string }) => p.name).sort()).toEqual(paramsOf(e.path).sort());
      expect(op.responses['200'].content['application/json'].schema.type).toBe('object');
      expect(op.responses['400']).toBeDefined();
    }
    await api.close();
  });

  it('answers unknown paths with a JSON 404', async () => {
    const { ch } = fakeClickHouse('embedded');
    const api = app(ch);
    const response = await api.inject({ url: '/api/nothing-here' });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('not_found');
    await api.close();
  });
});
