import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIMELINE_SQL } from '../../services/query-api/queries/customer-timeline.js';
import { MIN, insertStitchedCustomer, stitchedCustomer } from '../support/customer-profile-fixture.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';

/**
 * The timeline page is read without PREWHERE (optimize_move_to_prewhere = 0, customer-timeline.ts):
 * it must page exactly as with it: same rows in the same order, the same JSON values, from every
 * cursor and page size. Asked of the stitched customer (merged ids, a replayed touchpoint, two
 * touchpoints at one instant).
 */
const T0 = Date.UTC(2026, 2, 4, 9);
const ALICE = ['u:alice', 'a:anon-7', 'a:anon-9'];

let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase('lookupsql');
  await insertStitchedCustomer(db.ch, stitchedCustomer(T0));
});

afterAll(async () => {
  await db?.drop();
});

async function rows(sql: string, params: Record<string, unknown>): Promise<unknown[]> {
  const client = db.ch.readClient ?? db.ch.client;
  const rs = await client.query({ query: sql.replaceAll('{db}', db.database), format: 'JSONEachRow', query_params: params });
  return rs.json();
}

/** The same query as the engine plans it by default, with PREWHERE. */
function withPrewhere(sql: string): string {
  expect(sql).toContain('optimize_move_to_prewhere = 0');
  return sql.replace('optimize_move_to_prewhere = 0', 'optimize_move_to_prewhere = 1');
}

describe('the timeline page without PREWHERE', () => {
  it('pages the same way from every cursor', async () => {
    const all = (await rows(TIMELINE_SQL, { ids: ALICE, afterMs: 0, afterId: '', rows: 500 })) as { ts_ms: string; message_id: string }[];
    expect(all).toHaveLength(11);
    const cursors = [{ afterMs: 0, afterId: '' }, ...all.map((r) => ({ afterMs: Number(r.ts_ms), afterId: r.message_id })), { afterMs: T0 + 10 * MIN, afterId: '' }];
    for (const ids of [ALICE, ['u:bob', 'a:anon-b'], ['u:nobody']]) {
      for (const cursor of cursors) {
        for (const limit of [1, 4, 500]) {
          const params = { ids, ...cursor, rows: limit };
          expect(await rows(TIMELINE_SQL, params), JSON.stringify(params)).toEqual(await rows(withPrewhere(TIMELINE_SQL), params));
        }
      }
    }
  });
});
