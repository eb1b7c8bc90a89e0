import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chDateTime64 } from '../../services/platform/clickhouse/rows.js';
import { createFreshnessPoller, isSampled } from '../bench/freshness.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';

/** The e2e bench's freshness poller finds exactly the sampled touchpoints inserted after a phase starts. */
const EVERY = 5;
const T0 = Date.UTC(2026, 11, 1);

const touchpoints = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    message_id: `m-${from + i}`,
    customer_id: `u:c${(from + i) % 7}`,
    site: 'shop',
    event: 'Page Viewed',
    ts: chDateTime64(T0 + (from + i) * 1_000),
    received_at: chDateTime64(T0 + (from + i) * 1_000 + 5),
    properties: '{}',
  }));

const insert = (db: TestDatabase, values: Array<Record<string, unknown>>) =>
  db.ch.client.insert({ table: `${db.database}.touchpoints`, values, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: randomUUID() } });

describe('the e2e bench freshness poller', () => {
  it('finds every sampled touchpoint of the phase once, with its received_at, and none from before the phase', async () => {
    const db = await freshDatabase('freshness');
    try {
      const poller = await createFreshnessPoller(db.ch.client, db.database, EVERY);
      await insert(db, touchpoints(0, 200)); // before the phase
      await poller.startPhase(T0 + 200 * 1_000);
      await insert(db, touchpoints(200, 300));
      await poller.poll();
      await insert(db, touchpoints(500, 300));
      await insert(db, touchpoints(200, 50)); // a replayed block: found once
      await db.ch.client.command({ query: `OPTIMIZE TABLE ${db.database}.bench_freshness_samples FINAL` }); // one part, read again, holding rows from before the phase too
      await poller.poll();

      const expected = touchpoints(200, 600).filter((t) => isSampled(t.message_id, EVERY));
      expect(expected.length).toBeGreaterThan(50);
      const found = poller.found();
      expect([...found.keys()].sort()).toEqual(expected.map((t) => t.message_id).sort());
      for (const t of expected) expect(found.get(t.message_id)!.receivedAt).toBe(Date.parse(`${t.received_at.replace(' ', 'T')}Z`));
      expect(poller.stats().polls).toBe(2);
    } finally {
      await db.drop();
    }
  });
});
