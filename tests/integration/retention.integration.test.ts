import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyRetention, parseRetention } from '../../services/platform/clickhouse/retention.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';

const DAY = 86_400_000;

describe('retention per table (CLICKHOUSE_TTL_DAYS) on the real ClickHouse engine', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase('retention');
  });
  afterAll(async () => db?.drop());

  const engineFull = async (table: string) =>
    (await (await db.ch.client.query({ query: `SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {t:String}`, query_params: { db: db.database, t: table }, format: 'JSONEachRow' })).json<{ engine_full: string }>())[0]!.engine_full;
  const count = async (sql: string) => Number((await (await db.ch.client.query({ query: sql, format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n);

  it('keeps raw sessions shorter than the aggregates: old sessions go, a second start changes nothing, 0 removes the TTL', async () => {
    const target = { database: db.database, touchpointTtlDays: 3650 };
    const now = Date.now();
    const at = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
    const session = (id: string, endedAt: number) => ({
      session_id: id, customer_id: 'c', status: 'closed', version: 1, site: 'shop.example', started_at: at(endedAt - 60_000), ended_at: at(endedAt),
      event_count: 1, channels: [], entry_event: 'Page Viewed', exit_event: 'Page Viewed', entry_url: null, exit_url: null, furthest_stage: null, converted: false,
    });
    await db.ch.client.insert({ table: `${db.database}.sessions`, values: [session('old', now - 40 * DAY), session('new', now - 2 * DAY)], format: 'JSONEachRow', clickhouse_settings: { date_time_input_format: 'best_effort', input_format_skip_unknown_fields: 1 } });
    expect(await count(`SELECT count() AS n FROM ${db.database}.sessions`)).toBe(2);

    // sessions_by_customer (migration 032) follows sessions.
    expect(await applyRetention(db.ch.client, target, parseRetention('sessions=30,funnel_minute=0'))).toEqual(['sessions', 'sessions_by_customer']);
    expect(await engineFull('sessions')).toContain('TTL toDateTime(ended_at) + toIntervalDay(30)');
    for (const table of ['sessions', 'sessions_by_customer']) {
      await db.ch.client.command({ query: `OPTIMIZE TABLE ${db.database}.${table} FINAL` });
      expect(await count(`SELECT count() AS n FROM ${db.database}.${table}`), table).toBe(1);
    }

    // The same setting again: nothing to change (no part rewritten).
    expect(await applyRetention(db.ch.client, target, parseRetention('sessions=30'))).toEqual([]);
    expect(await applyRetention(db.ch.client, target, parseRetention('sessions=0'))).toEqual(['sessions', 'sessions_by_customer']);
    expect(await engineFull('sessions')).not.toContain('TTL');
  });
});
