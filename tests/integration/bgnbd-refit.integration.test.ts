import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTouchpoint } from '../../schemas/test-touchpoint.js';
import { touchpointRow } from '../../services/platform/clickhouse/rows.js';
import { DEFAULT_PURCHASE_EVENTS, readPurchaseObservations, refitBgNbd } from '../../services/sessionizer/refit-bgnbd.js';
import { fitBgNbd } from '../../services/sessionizer/stages/churn/bgnbd.js';
import { observationFromTimestamps } from '../../services/sessionizer/stages/churn/fit-input.js';
import { verifyBgNbd } from '../../services/sessionizer/verify/verify-bgnbd.js';
import { parseSimulatorConfig } from '../../services/simulator/core/config.js';
import { persona, simulatePurchases } from '../../services/simulator/core/test-fixtures.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const D0 = Date.UTC(2026, 0, 5);

let n = 0;
const touch = (customerId: string, event: string, at: number, late = false, messageId = `m-${n++}`) =>
  touchpointRow({
    customerId,
    accountId: null,
    sessionId: `s-${customerId}`,
    late,
    touchpoint: makeTouchpoint({ messageId, userId: customerId, anonymousId: null, event, timestamp: at, receivedAt: at }),
  });

/** The refit query (services/sessionizer/refit-bgnbd.ts) on the real engine, with touchpoint rows inserted. */
describe('BG/NBD refit from ClickHouse', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase('bgnbd');
  });
  afterAll(async () => db.drop());

  it('reads distinct UTC purchase days per customer, merged ids combined, observed until the newest touchpoint', async () => {
    const rows = [
      // anon-a, merged into user-a since: its order and user-a's first one fall on one UTC day (counted once).
      touch('anon-a', 'Order Completed', D0 + 10 * HOUR),
      touch('user-a', 'Order Completed', D0 + 23 * HOUR),
      // A late touchpoint keeps its event time; its duplicate (same messageId) adds nothing.
      touch('user-a', 'Order Completed', D0 + 14 * DAY + 10 * HOUR, true, 'm-late'),
      touch('user-a', 'Order Completed', D0 + 14 * DAY + 10 * HOUR, true, 'm-late'),
      touch('user-a', 'Product Viewed', D0 + 20 * DAY),
      // user-b: a contract, then a renewal the next UTC day although 2 hours later.
      touch('user-b', 'Contract Signed', D0 + 7 * DAY + 23 * HOUR),
      touch('user-b', 'Subscription Renewed', D0 + 8 * DAY + HOUR),
      // user-c never buys; its visit is the newest touchpoint: the observation end.
      touch('user-c', 'Checkout Started', D0 + 70 * DAY + 10 * HOUR),
    ];
    await db.ch.client.insert({ table: `${db.database}.touchpoints`, values: rows, format: 'JSONEachRow' });
    const read = (resolve?: (id: string) => string) =>
      readPurchaseObservations(db.ch.client, { database: db.database, events: DEFAULT_PURCHASE_EVENTS, timeUnitDays: 7, resolve });
    const end = D0 + 70 * DAY + 10 * HOUR;
    const week = 7 * DAY;
    const byT = (a: { T: number }, b: { T: number }) => a.T - b.T;

    const merged = await read((id) => (id === 'anon-a' ? 'user-a' : id));
    expect(merged.skipped).toEqual([]);
    expect(merged.observations.sort(byT)).toEqual([
      { x: 1, tx: (D0 + 8 * DAY + HOUR - (D0 + 7 * DAY + 23 * HOUR)) / week, T: (end - (D0 + 7 * DAY + 23 * HOUR)) / week },
      { x: 1, tx: (14 * DAY) / week, T: (end - (D0 + 10 * HOUR)) / week },
    ]);
    // Without the identity table, the ids as written: anon-a is a customer of its own.
    const asWritten = await read();
    expect(asWritten.observations.sort(byT)).toEqual([
      { x: 1, tx: (2 * HOUR) / week, T: (end - (D0 + 7 * DAY + 23 * HOUR)) / week },
      { x: 1, tx: (14 * DAY - 13 * HOUR) / week, T: (end - (D0 + 23 * HOUR)) / week },
      { x: 0, tx: 0, T: (end - (D0 + 10 * HOUR)) / week },
    ]);
    await expect(refitBgNbd(db.ch.client, { database: db.database, events: DEFAULT_PURCHASE_EVENTS, timeUnitDays: 7 })).rejects.toThrow(/only 3 customers/);
  });

  it('refits simulated history loaded into touchpoints to the fit of the same purchases in memory, within the band of the generating parameters', async () => {
    const sim = await freshDatabase('bgnbd_sim');
    try {
      const config = parseSimulatorConfig({
        seed: 11,
        personas: [persona('buyer', 'shop.example', { awarenessToConsideration: 1, considerationToPurchase: 1 })],
        repeatPurchases: { r: 0.75, alpha: 4, a: 0.8, b: 2.5, timeUnitDays: 7, horizonDays: 90 },
      });
      const { byCustomer, newest } = simulatePurchases(config, 3_000, 90, DEFAULT_PURCHASE_EVENTS);
      const rows = [...byCustomer].flatMap(([userId, times]) => times.map((at) => touch(userId, 'Order Completed', at)));
      rows.push(touch('someone', 'Page Viewed', newest));
      await sim.ch.client.insert({ table: `${sim.database}.touchpoints`, values: rows, format: 'JSONEachRow' });

      const { fit, input } = await refitBgNbd(sim.ch.client, { database: sim.database, events: DEFAULT_PURCHASE_EVENTS, timeUnitDays: 7 });
      const inMemory = [...byCustomer.values()].map((times) => observationFromTimestamps(times, newest, 7)!);
      expect(input.skipped).toEqual([]);
      expect(fit.customers).toBe(byCustomer.size);
      const key = (o: { x: number; tx: number; T: number }) => `${o.x}|${o.tx}|${o.T}`;
      expect(input.observations.map(key).sort()).toEqual(inMemory.map(key).sort());
      // Same observations; only the order of the likelihood's terms (ClickHouse's GROUP BY order) may differ.
      const reference = fitBgNbd(inMemory).params;
      for (const k of ['r', 'alpha', 'a', 'b'] as const) expect(Math.abs(fit.params[k] / reference[k] - 1)).toBeLessThan(1e-4);

      const report = await verifyBgNbd(sim.ch.client, { params: config.repeatPurchases, timeUnitDays: 7 }, { database: sim.database, events: DEFAULT_PURCHASE_EVENTS });
      expect(report.parameters.filter((p) => !p.within)).toEqual([]);
      expect(report.ok).toBe(true);
    } finally {
      await sim.drop();
    }
  });
});
