import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../services/platform/clickhouse/migrate.js';
import { TABLE_FOR_TOPIC, chDateTime64 } from '../../services/platform/clickhouse/rows.js';
import { insertSampleData, sampleData } from '../support/query-api-sample-data.js';
import { freshDatabase, testClickHouseEngine, type TestDatabase } from '../support/clickhouse.js';

// The journey tables on the real engine: what data teams can rely on when they query them directly.
const NOW = Date.UTC(2026, 2, 4, 12);
const HOUR = 3_600_000;
const TABLES = [
  'touchpoints',
  'sessions',
  'stage_transitions',
  'customer_journey',
  'customer_journey_latest',
  'funnel_events',
  'funnel_minute',
  'churn_scores',
  'churn_score_history',
  'alerts',
  'dead_letters',
  'customer_activity_weekly',
  'customer_stage',
  'stage_counts',
  'churn_ranked',
  'cohort_retention',
];

let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase('tables');
  await insertSampleData(db.ch, sampleData(NOW));
});

afterAll(async () => {
  await db?.drop();
});

async function rows<T>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const rs = await db.ch.client.query({ query: sql.replaceAll('{db}', db.database), format: 'JSONEachRow', query_params: params });
  return rs.json<T>();
}

describe('migrations on the real engine', () => {
  it('apply nothing the second time and leave the tables as they were', async () => {
    const tables = () => rows<{ name: string }>(`SELECT name FROM system.tables WHERE database = {d:String} ORDER BY name`, { d: db.database });
    const before = await tables();
    const again = await migrate(testClickHouseEngine().client, { database: db.database, touchpointTtlDays: 3650 });
    expect(again.applied).toEqual([]);
    expect(await tables()).toEqual(before);
    expect(before.map((t) => t.name)).toEqual(expect.arrayContaining(TABLES));
  });
});

describe('sessions', () => {
  it('keep the highest version of a session, even after it moved to another customer', async () => {
    const final = await rows<{ customer_id: string; status: string; version: string | number }>(
      `SELECT customer_id, status, version FROM {db}.sessions FINAL WHERE session_id = 'sess-1'`,
    );
    expect(final).toEqual([{ customer_id: 'c02', status: 'closed', version: 3 }]);
  });
});

describe('customer_journey_latest', () => {
  it('holds the newest stage, the previous one, and the furthest stage of the current journey', async () => {
    const [c05] = await rows(`SELECT stage, previous_stage, furthest_stage, journey_number FROM {db}.customer_journey_latest WHERE customer_id = 'c05'`);
    expect(c05).toEqual({ stage: 'awareness', previous_stage: 'consideration', furthest_stage: 'consideration', journey_number: 1 });
    const [c01] = await rows(`SELECT stage, account_id, site, toFloat64(toUnixTimestamp64Milli(entered_at)) AS entered FROM {db}.customer_journey_latest WHERE customer_id = 'c01'`);
    expect(c01).toMatchObject({ stage: 'retention', account_id: 'acme', site: 'shop', entered: NOW - 8 * HOUR });
  });

  it('ignores a late transition older than the current stage', async () => {
    const late = sampleData(NOW).transitions.find((t) => t.customerId === 'c01' && t.toStage === 'consideration')!;
    await db.ch.client.insert({
      table: `${db.database}.stage_transitions`,
      values: [TABLE_FOR_TOPIC.stageTransitions.toRow({ ...late, transitionId: 'late-1', toStage: 'advocacy', at: late.at - HOUR })],
      format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplication_token: '' },
    });
    const [c01] = await rows(`SELECT stage, furthest_stage FROM {db}.customer_journey_latest WHERE customer_id = 'c01'`);
    expect(c01).toEqual({ stage: 'retention', furthest_stage: 'advocacy' });
  });

  it('starts the furthest stage over when a new journey begins', async () => {
    const base = sampleData(NOW).transitions.find((t) => t.customerId === 'c02' && t.toStage === 'purchase')!;
    await db.ch.client.insert({
      table: `${db.database}.stage_transitions`,
      values: [TABLE_FOR_TOPIC.stageTransitions.toRow({ ...base, transitionId: 'j2', fromStage: 'purchase', toStage: 'awareness', at: NOW - HOUR, journeyNumber: 2 })],
      format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplication_token: '' },
    });
    const [c02] = await rows(`SELECT stage, furthest_stage, journey_number FROM {db}.customer_journey_latest WHERE customer_id = 'c02'`);
    expect(c02).toEqual({ stage: 'awareness', furthest_stage: 'awareness', journey_number: 2 });
  });
});

describe('insert retries', () => {
  it('count a retried block once in raw tables and in the per-minute aggregate', async () => {
    const counts = () =>
      rows<{ raw: string; events: string }>(
        `SELECT (SELECT count() FROM {db}.funnel_events) AS raw, (SELECT countMerge(events) FROM {db}.funnel_minute) AS events`,
      );
    const before = (await counts())[0]!;
    const event = { ...sampleData(NOW).funnelEvents[0]!, eventId: 'retry-1', customerId: 'r1' };
    const insert = () =>
      db.ch.client.insert({
        table: `${db.database}.funnel_events`,
        values: [TABLE_FOR_TOPIC.funnelEvents.toRow(event)],
        format: 'JSONEachRow',
        clickhouse_settings: { insert_deduplication_token: 'funnel-events:0:100-101', deduplicate_blocks_in_dependent_materialized_views: 1 },
      });
    try {
      await insert();
      await insert();
    } finally {
      // Embedded chdb keeps settings for the session: do not leave the token to later inserts.
      await db.ch.client.command({ query: 'SELECT 1', clickhouse_settings: { insert_deduplication_token: '' } });
    }
    const after = (await counts())[0]!;
    expect(Number(after.raw) - Number(before.raw)).toBe(1);
    expect(Number(after.events) - Number(before.events)).toBe(1);
  });
});

describe('churn scores', () => {
  it('keep every score in the history and the newest in churn_scores', async () => {
    const history = await rows<{ score: number }>(`SELECT score FROM {db}.churn_score_history FINAL WHERE customer_id = 'c05' ORDER BY at`);
    expect(history.map((h) => h.score)).toEqual([0.6, 0.3]);
    const latest = await rows<{ score: number }>(`SELECT score FROM {db}.churn_scores FINAL WHERE customer_id = 'c05'`);
    expect(latest).toEqual([{ score: 0.3 }]);
  });
});

describe('dead letters and times', () => {
  it('store a dead letter with its millisecond time exactly', async () => {
    const at = Date.UTC(2026, 10, 22, 17, 0, 0, 123);
    await db.ch.client.insert({
      table: `${db.database}.dead_letters`,
      values: [TABLE_FOR_TOPIC.deadLetter.toRow({ sourceTopic: 'touchpoints', stage: 'decode', reason: 'bad magic byte', at, key: null, payload: 'AAE=' })],
      format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplication_token: '' },
    });
    const [row] = await rows<{ ms: number; text: string }>(
      `SELECT toFloat64(toUnixTimestamp64Milli(at)) AS ms, toString(at) AS text FROM {db}.dead_letters WHERE reason = 'bad magic byte'`,
    );
    expect(row).toEqual({ ms: at, text: chDateTime64(at) });
  });
});

describe('docs/clickhouse.md', () => {
  it('has example queries that run against the tables', async () => {
    const doc = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'clickhouse.md'), 'utf8');
    const block = /```sql\n([\s\S]*?)```/.exec(doc)![1]!;
    const examples = block.split(/;\s*$/m).map((q) => q.trim()).filter((q) => q.length > 0);
    expect(examples.length).toBeGreaterThanOrEqual(6);
    for (const example of examples) {
      // The examples use plain table names (the reader's default database): qualify them here.
      const sql = example.replace(/\b(FROM|JOIN)\s+([a-z_]+)\b/g, (m, kw: string, table: string) =>
        TABLES.includes(table) ? `${kw} ${db.database}.${table}` : m,
      );
      const result = await db.ch.client.query({ query: sql, format: 'JSONEachRow', query_params: { customer: 'c01' } });
      expect(Array.isArray(await result.json()), example.split('\n')[0]).toBe(true);
    }
  });
});
