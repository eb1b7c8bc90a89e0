import type { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENDPOINTS, type Endpoint } from '../../services/query-api/endpoints.js';
import { insertSampleData, sampleData } from '../support/query-api-sample-data.js';
import { createQueryApiService } from '../../services/query-api/service.js';
import { freshDatabase, testClickHouseEngine, type TestDatabase } from '../support/clickhouse.js';
import { INJECTION_VALUES, QUERY_COMBINATIONS } from '../support/hostile-corpus.js';
import { freshRegistry, testLogger } from '../support/pipeline.js';

// Wednesday noon: the sample data's funnel spans the 20 h before it (see tests/support/query-api-sample-data.ts).
const NOW = Date.UTC(2026, 2, 4, 12);
/** Parameters whose values are free text: a hostile value there must be treated as a plain (unmatched) value. */
const FREE_TEXT = new Set(['site', 'channel', 'campaign', 'device', 'segment']);
const UNMATCHED = 'zz-no-such-value';
const INTERNALS = /DB::Exception|Code: \d+|\bat \S+ \(|node:internal|\.[cm]?[jt]s:\d+|[\\/](?:work|home|tmp|services|node_modules)[\\/]/;

const paramsOf = (e: Endpoint): string[] => Object.keys((e.query as unknown as z.ZodObject).shape);

interface Answer {
  url: string;
  status: number;
  body: string;
}

interface TableState {
  name: string;
  engine: string;
  create_table_query: string;
  rows: number;
}

describe('the query API under hostile query parameters (real HTTP, embedded ClickHouse)', () => {
  let db: TestDatabase;
  let api: ReturnType<typeof createQueryApiService>;
  let before: { tables: TableState[]; databases: string[] };
  const answers: Answer[] = [];

  /** Every table of the test database with its definition and row count, and every database. */
  async function snapshot(): Promise<{ tables: TableState[]; databases: string[] }> {
    const client = testClickHouseEngine().client;
    const rs = await client.query({
      // A refreshable view's refresh fills a `_tmp_replace_…` table and swaps it in: the engine's own,
      // there for a moment (listed here, gone when counted), never the API's doing.
      query: `SELECT name, engine, create_table_query FROM system.tables WHERE database = {db:String} AND NOT startsWith(name, '_tmp_replace_') ORDER BY name`,
      query_params: { db: db.database },
      format: 'JSONEachRow',
    });
    const tables = await rs.json<Omit<TableState, 'rows'>>();
    const withRows: TableState[] = [];
    for (const t of tables) {
      // Background merges collapse replayed rows at any time; FINAL counts what a merge would leave.
      const final = /(?:Replacing|Aggregating|Summing|Collapsing)MergeTree/.test(t.engine) ? ' FINAL' : '';
      const count = await client.query({ query: `SELECT count() AS c FROM ${db.database}.\`${t.name}\`${final}`, format: 'JSONEachRow' });
      const [row] = await count.json<{ c: string | number }>();
      withRows.push({ ...t, rows: Number(row?.c ?? 0) });
    }
    const dbs = await client.query({ query: 'SELECT name FROM system.databases ORDER BY name', format: 'JSONEachRow' });
    return { tables: withRows, databases: (await dbs.json<{ name: string }>()).map((d) => d.name) };
  }

  async function get(path: string, query: URLSearchParams | string): Promise<Answer> {
    const url = `${path}?${query.toString()}`;
    const response = await fetch(`${api.address()}${url}`);
    const answer = { url, status: response.status, body: await response.text() };
    answers.push(answer);
    return answer;
  }

  beforeAll(async () => {
    db = await freshDatabase('hostile_q');
    await insertSampleData(db.ch, sampleData(NOW));
    // Canaries named like the injection strings' targets.
    await db.ch.client.command({ query: `CREATE TABLE ${db.database}.x (id UInt32) ENGINE = MergeTree ORDER BY id` });
    await db.ch.client.command({ query: `INSERT INTO ${db.database}.x VALUES (1), (2), (3)` });
    api = createQueryApiService({
      clickhouse: db.ch,
      host: '127.0.0.1',
      port: 0,
      corsOrigins: [],
      registry: freshRegistry(),
      logger: testLogger('hostile-query-api'),
      now: () => NOW,
    });
    await api.start();
    before = await snapshot();
    expect(before.tables.find((t) => t.name === 'touchpoints')?.rows).toBeGreaterThan(0);
  });

  afterAll(async () => {
    await api?.stop();
    await db?.drop();
  });

  describe.each(ENDPOINTS.map((e) => [e.path, e] as const))('%s', (_path, endpoint: Endpoint) => {
    it.each(paramsOf(endpoint))(
      'answers every injection value in "%s" with a 400 naming it, or a 200 that treats it as a plain value',
      async (param) => {
        const unmatched = FREE_TEXT.has(param) ? await get(endpoint.path, new URLSearchParams({ [param]: UNMATCHED })) : undefined;
        if (unmatched) expect(unmatched.status, unmatched.body).toBe(200);
        const outcomes: string[] = [];
        for (const { name, value } of INJECTION_VALUES) {
          const query = new URLSearchParams();
          for (const v of Array.isArray(value) ? value : [value]) query.append(param, v);
          const answer = await get(endpoint.path, query);
          const context = `${param} = ${name}: ${answer.status} ${answer.body.slice(0, 300)}`;
          expect([200, 400], context).toContain(answer.status);
          expect(answer.body, context).not.toMatch(INTERNALS);
          const body = JSON.parse(answer.body) as { error?: { code: string; message: string } };
          if (answer.status === 400) {
            expect(body.error?.code, context).toBe('bad_request');
            expect(body.error?.message.startsWith(`${param}:`), context).toBe(true);
            outcomes.push('400');
            continue;
          }
          // A 200 follows the documented response schema…
          endpoint.response.parse(body);
          // …and for free text it is exactly the answer for any other unmatched value: nothing
          // leaked, widened (1 OR 1=1) or changed by the value, which only comes back as an echo.
          if (unmatched && typeof value === 'string') {
            const echoFree = JSON.stringify(body, (_k, v: unknown) => (v === value ? UNMATCHED : v));
            expect(echoFree, context).toBe(unmatched.body);
          }
          outcomes.push('200');
        }
        expect(outcomes).toHaveLength(INJECTION_VALUES.length);
      },
    );

    const combinations = QUERY_COMBINATIONS.filter((c) => !['from', 'to'].includes(c.param) || paramsOf(endpoint).includes(c.param));
    it.each(combinations.map((c) => [c.name, c] as const))('answers %s with a 400 naming the parameter', async (_name, combination) => {
      const answer = await get(endpoint.path, combination.query);
      expect(answer.status, answer.body).toBe(400);
      const body = JSON.parse(answer.body) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('bad_request');
      expect(body.error.message.startsWith(combination.param), body.error.message).toBe(true);
      expect(answer.body).not.toMatch(INTERNALS);
    });
  });

  it('still has every table, definition and row, and every database, after the corpus', async () => {
    const after = await snapshot();
    expect(after).toEqual(before);
    const byStatus = answers.reduce<Record<number, number>>((acc, a) => ({ ...acc, [a.status]: (acc[a.status] ?? 0) + 1 }), {});
    console.info(`[hostile-query-api] ${answers.length} requests; answers by status: ${JSON.stringify(byStatus)}`);
  });

  it('is still healthy and answers a normal request with the sample data', async () => {
    expect((await fetch(`${api.address()}/healthz`)).status).toBe(200);
    const answer = await get('/api/funnel', 'site=shop');
    expect(answer.status).toBe(200);
    expect((JSON.parse(answer.body) as { stages: Array<{ entries: number }> }).stages[0]!.entries).toBe(10);
  });
});
