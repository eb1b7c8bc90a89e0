import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_UID_UNKNOWN, type SessionRecord } from '../../schemas/journey.js';
import { loadMigrations, migrate } from '../../services/platform/clickhouse/migrate.js';
import { sessionRow } from '../../services/platform/clickhouse/rows.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';

const T0 = Date.UTC(2026, 0, 5, 10);

/** A session version as the sessionizer writes it; ids chosen to collide on session_id. */
const session = (sessionId: string, sessionUid: string, version: number, eventCount: number): SessionRecord => ({
  sessionId, sessionUid, customerId: `u:${sessionUid.slice(-4)}`, status: 'updated', version, site: 'shop', startedAt: T0, endedAt: T0 + 60_000,
  eventCount, channels: ['web'], entryEvent: 'Page Viewed', exitEvent: 'Page Viewed', entryUrl: null, exitUrl: null, furthestStage: null, converted: false,
});

describe('migration 020: sessions keyed by (session_id, 128-bit session_uid) on the real ClickHouse engine', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase('sessuid', { migrate: false });
  });
  afterAll(async () => db?.drop());

  const rows = async (sql: string) => (await db.ch.client.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, unknown>>();
  const insert = async (values: object[]) =>
    db.ch.client.insert({ table: `${db.database}.sessions`, values, format: 'JSONEachRow', clickhouse_settings: { date_time_input_format: 'best_effort' } });

  it('keeps the rows of a table made before it, and keeps two sessions that share a 53-bit id apart', async () => {
    const target = { database: db.database, touchpointTtlDays: 3650 };
    // The table as it was before 020, with a row in it.
    const before = loadMigrations().filter((m) => m.version < 20);
    await migrate(db.ch.client, target, before);
    const { session_uid: _none, ...oldRow } = sessionRow(session('s_00000000000abc', SESSION_UID_UNKNOWN, 3, 2));
    await insert([oldRow]);

    // 020 alone: the migrations after it are not this test's subject.
    const result = await migrate(db.ch.client, target, loadMigrations().filter((m) => m.version <= 20));
    expect(result.applied).toEqual([20]);
    const key = await rows(`SELECT sorting_key FROM system.tables WHERE database = '${db.database}' AND name = 'sessions'`);
    expect(key).toEqual([{ sorting_key: 'session_id, session_uid' }]);
    expect(await rows(`SELECT session_id, toString(session_uid) AS uid, toUInt32(version) AS version FROM ${db.database}.sessions FINAL`)).toEqual([
      { session_id: 's_00000000000abc', uid: SESSION_UID_UNKNOWN, version: 3 },
    ]);

    // Two sessions whose first events hash alike (same session_id) but differ in time: two rows.
    const a = '0000019b-8dd8-c600-0000-000000000abc';
    const b = '0000019b-8dd9-b060-0000-000000000abc';
    await insert([sessionRow(session('s_00000000000abc', a, 1, 1)), sessionRow(session('s_00000000000abc', b, 1, 5))]);
    await insert([sessionRow(session('s_00000000000abc', a, 2, 4))]);
    const found = await rows(`SELECT toString(session_uid) AS uid, toUInt32(version) AS version, event_count FROM ${db.database}.sessions FINAL ORDER BY uid`);
    expect(found).toEqual([
      { uid: SESSION_UID_UNKNOWN, version: 3, event_count: 2 },
      { uid: a, version: 2, event_count: 4 },
      { uid: b, version: 1, event_count: 5 },
    ]);

    // docs/clickhouse.md: the clean-up of rows from before 020 whose session has rows under its 128-bit key.
    const nil = `toUUID('${SESSION_UID_UNKNOWN}')`;
    await db.ch.client.command({ query: `DELETE FROM ${db.database}.sessions WHERE session_uid = ${nil} AND session_id IN (SELECT session_id FROM ${db.database}.sessions WHERE session_uid != ${nil})` });
    expect((await rows(`SELECT toString(session_uid) AS uid FROM ${db.database}.sessions FINAL ORDER BY uid`)).map((r) => r.uid)).toEqual([a, b]);
  });
});
