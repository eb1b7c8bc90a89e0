import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTouchpoint } from '../../schemas/test-touchpoint.js';
import { parseMonitors } from '../../services/alerter/core/monitors.js';
import { touchpointTimeRange } from '../../services/alerter/replay/data-range.js';
import type { ReplayIncident } from '../../services/alerter/replay/incidents-file.js';
import { replayAlerts } from '../../services/alerter/replay/replay.js';
import { replayPassed, scoreReplay } from '../../services/alerter/replay/score.js';
import { createClickHouseWindowSource } from '../../services/alerter/window-source.js';
import { touchpointRow, type TouchpointRow } from '../../services/platform/clickhouse/rows.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { createPrng } from '../support/prng.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 8, 7, 0, 0);
const HOURS = 72;
const SITE = 'shop.example';

const monitors = parseMonitors(
  `version: 1
defaults: { windowMinutes: 60, minSample: 40, warmupWindows: 6, evidenceWindows: 2, keepFiringForWindows: 2, cooldownWindows: 2 }
monitors:
  - { id: checkout, kind: funnel, steps: [Product Added, Checkout Started] }
  - { id: tracking, kind: volume, sources: [web], minSample: 20, significance: 5, minRelativeDrop: 0.5, evidenceWindows: 1 }
`,
  'test.yaml',
);

const drop: ReplayIncident = { kind: 'conversion-drop', start: T0 + 40 * HOUR, end: T0 + 44 * HOUR, site: SITE, step: 'Product Added→Checkout Started', dropPct: 80 };
const outage: ReplayIncident = { kind: 'tracking-stopped', start: T0 + 60 * HOUR, end: T0 + 62 * HOUR, site: SITE };
const inside = (i: ReplayIncident, at: number) => at >= i.start && at < i.end;

/**
 * Three days of a shop as the writer stores it: 80 customers an hour add to cart, half of them
 * (seeded coin) start checkout 2 minutes later; during the drop a tenth do; during the outage
 * nothing is tracked at all.
 */
function history(): TouchpointRow[] {
  const coin = createPrng(18);
  const rows: TouchpointRow[] = [];
  for (let h = 0; h < HOURS; h++) {
    for (let i = 0; i < 80; i++) {
      const customerId = `c-${h}-${i}`;
      const added = T0 + h * HOUR + ((i * 37_000) % (50 * MIN));
      if (inside(outage, added)) continue;
      const checksOut = coin() < (inside(drop, added) ? 0.1 : 0.5);
      const events = checksOut ? [['Product Added', added] as const, ['Checkout Started', added + 2 * MIN] as const] : [['Product Added', added] as const];
      for (const [event, at] of events) {
        const touchpoint = makeTouchpoint({ messageId: `m-${customerId}-${event}`, userId: customerId, anonymousId: null, event, timestamp: at, receivedAt: at, site: SITE });
        rows.push(touchpointRow({ customerId, accountId: null, sessionId: `s-${customerId}`, late: false, touchpoint }));
      }
    }
  }
  return rows;
}

describe('alert replay over ClickHouse', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await freshDatabase('alerter_replay');
    await db.ch.client.insert({ table: `${db.database}.touchpoints`, values: history(), format: 'JSONEachRow' });
  });
  afterAll(async () => db?.drop());

  it('fires on the injected drop and outage, on the windows the live schedule would have judged, and nowhere else', async () => {
    const range = await touchpointTimeRange(db.ch);
    expect(range).not.toBeNull();
    expect(range!.from).toBe(T0);
    const result = await replayAlerts({ source: createClickHouseWindowSource(db.ch), monitors, from: range!.from, to: range!.to });
    // Hourly windows from 00:00 of day 1 to the last one that ends by the last event (hour 71 ends after it): 71 per monitor.
    expect(result.windows).toBe(71 * 2);
    expect(result.verdicts.filter((v) => v.verdict === 'normal' || v.verdict === 'anomalous').length).toBeGreaterThan(100);

    const score = scoreReplay(result.alerts, result.verdicts, monitors, [drop, outage]);
    expect(score.incidents.map((s) => [s.outcome, s.alerts[0]?.monitor, s.alerts[0]?.since])).toEqual([
      ['detected', 'checkout:product-added-to-checkout-started', drop.start],
      ['detected', 'tracking:web', outage.start],
    ]);
    expect(score.falseAlarms).toEqual([]);
    expect(score.firing).toBe(2);
    expect(score.recall).toBe(1);
    expect(replayPassed(score)).toBe(true);
  });

  it('counts the same alerts as false alarms when the incidents file names none', async () => {
    const range = (await touchpointTimeRange(db.ch))!;
    const result = await replayAlerts({ source: createClickHouseWindowSource(db.ch), monitors, from: range.from, to: range.to });
    const score = scoreReplay(result.alerts, result.verdicts, monitors, []);
    expect(score.falseAlarms.map((a) => [a.monitor, a.since])).toEqual([
      ['checkout:product-added-to-checkout-started', drop.start],
      ['tracking:web', outage.start],
    ]);
    expect(replayPassed(score)).toBe(false);
  });
});
