import { describe, expect, it } from 'vitest';
import { createQueryRunner } from '../../services/query-api/runner.js';
import { freshDatabase } from '../support/clickhouse.js';

/**
 * The embedded engine keeps a query's settings in its one session. `client` sends
 * EMBEDDED_SETTING_DEFAULTS with every query so none outlasts the query that set it; the query API's
 * reads go through `readClient`, which sends none (client.ts). Safe because such a read leaves the
 * session as it found it, and the next query through `client` puts every default back.
 */
describe('the read client on the embedded engine', () => {
  it('sends no settings, and a setting another query changed is still restored for the next write', async () => {
    const db = await freshDatabase('readclient');
    try {
      const table = `${db.database}.blocks`;
      const count = async () => Number((await (await db.ch.client.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n);
      const setting = async (client: typeof db.ch.client) =>
        (await (await client.query({ query: "SELECT getSetting('insert_deduplication_token') AS token", format: 'JSONEachRow' })).json<{ token: string }>())[0]!.token;
      await db.ch.client.command({ query: `CREATE TABLE ${table} (x UInt32) ENGINE = MergeTree ORDER BY x SETTINGS non_replicated_deduplication_window = 100` });

      // A writer's block with its token: the session keeps the token after the insert.
      await db.ch.client.insert({ table, values: [{ x: 1 }], format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'block-1' } });
      if (db.ch.mode === 'embedded') {
        expect(db.ch.readClient).toBeDefined();
        // The read client set nothing: it sees the token the insert left.
        expect(await setting(db.ch.readClient!)).toBe('block-1');
      }
      // The API's reads go through it and answer as usual.
      const runner = createQueryRunner(db.ch, () => () => {});
      const [read] = await runner.rows<{ n: string | number }>('test', `SELECT count() AS n FROM {db}.blocks WHERE x = {x:UInt32}`, { x: 1 });
      expect(Number(read!.n)).toBe(1);

      // The next write that names no token is not dropped as a repeat of block-1: `client` reset it.
      await db.ch.client.insert({ table, values: [{ x: 2 }], format: 'JSONEachRow' });
      expect(await count()).toBe(2);
      expect(await setting(db.ch.client)).toBe('');
      // And a retry of block-1 with its token still is.
      await db.ch.client.insert({ table, values: [{ x: 1 }], format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'block-1' } });
      expect(await count()).toBe(2);
    } finally {
      await db.drop();
    }
  });
});
