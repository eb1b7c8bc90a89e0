import { describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/clickhouse.js';

describe('ClickHouse settings of one query', () => {
  it('do not carry over to the next query on the same client (the embedded engine runs them as session SETs)', async () => {
    const db = await freshDatabase('settings', { migrate: false });
    try {
      const table = `${db.database}.blocks`;
      await db.ch.client.command({ query: `CREATE TABLE ${table} (x UInt32) ENGINE = MergeTree ORDER BY x SETTINGS non_replicated_deduplication_window = 100` });
      // A writer's insert with its deduplication token, then two inserts that name none.
      await db.ch.client.insert({ table, values: [{ x: 1 }], format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'block-1' } });
      await db.ch.client.insert({ table, values: [{ x: 2 }], format: 'JSONEachRow' });
      await db.ch.client.insert({ table, values: [{ x: 3 }], format: 'JSONEachRow' });
      const rows = await db.ch.client.query({ query: `SELECT x FROM ${table} ORDER BY x`, format: 'JSONEachRow' }).then((r) => r.json<{ x: number }>());
      // With the token left over, both later inserts were dropped as repeats of the first block.
      expect(rows.map((r) => Number(r.x))).toEqual([1, 2, 3]);
    } finally {
      await db.drop();
    }
  });
});
