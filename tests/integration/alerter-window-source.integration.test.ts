import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunnelEvent } from '../../schemas/journey.js';
import { makeTouchpoint } from '../../schemas/test-touchpoint.js';
import { parseMonitors, type Monitor } from '../../services/alerter/core/monitors.js';
import { createClickHouseWindowSource, NO_VALUE, type WindowSource } from '../../services/alerter/window-source.js';
import { funnelEventRow, touchpointRow } from '../../services/platform/clickhouse/rows.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';

const MIN = 60_000;
const T0 = Date.UTC(2025, 2, 3, 10, 0);

const monitors = parseMonitors(
  `version: 1
monitors:
  - id: stages
    kind: stage
    stages: [awareness, consideration, purchase]
    breakdowns: [channel, campaign]
  - id: checkout
    kind: funnel
    steps: [Product Viewed, Product Added]
    breakdowns: [deviceType]
  - id: volume
    kind: volume
    sources: [web]
    breakdowns: [deviceType]
  - id: site-volume
    kind: volume
    sources: [web, ios, android]
    combineSources: true
`,
  'test.yaml',
);
const byId = (id: string) => monitors.find((m) => m.id === id) as Monitor;

function funnelEvent(kind: FunnelEvent['kind'], customerId: string, at: number, over: Partial<FunnelEvent> = {}): FunnelEvent {
  return {
    eventId: `${kind}-${customerId}-${at}-${over.stage ?? ''}`,
    kind,
    fromStage: kind === 'conversion' ? 'awareness' : null,
    stage: kind === 'conversion' ? 'consideration' : 'awareness',
    at,
    customerId,
    site: 'shop',
    channel: 'web',
    campaign: null,
    deviceType: 'desktop',
    segment: null,
    secondsToConvert: kind === 'conversion' ? 12 : null,
    ...over,
  };
}

let n = 0;
const touch = (customerId: string, event: string, at: number, over: Parameters<typeof makeTouchpoint>[0] = {}) =>
  touchpointRow({
    customerId,
    accountId: null,
    sessionId: `s-${customerId}`,
    late: false,
    touchpoint: makeTouchpoint({ messageId: `m-${n++}`, userId: customerId, anonymousId: null, event, timestamp: at, receivedAt: at, site: 'shop', ...over }),
  });

describe('ClickHouse window source of the alerter', () => {
  let db: TestDatabase;
  let source: WindowSource;

  beforeAll(async () => {
    db = await freshDatabase('alerter_ws');
    source = createClickHouseWindowSource(db.ch);
    const events: FunnelEvent[] = [
      // awareness → consideration decided in [T0, T0+5m): 3 conversions, 2 dropoffs.
      funnelEvent('conversion', 'a', T0 + 1_000),
      funnelEvent('conversion', 'b', T0 + 2_000, { channel: 'email', campaign: 'spring' }),
      funnelEvent('conversion', 'c', T0 + 4 * MIN),
      funnelEvent('dropoff', 'd', T0 + 3_000, { channel: 'email', campaign: 'spring' }),
      funnelEvent('dropoff', 'e', T0 + 3_000),
      // A replay of a's conversion changes nothing (customers are unique).
      funnelEvent('conversion', 'a', T0 + 1_000, { eventId: 'replayed' }),
      // Outside the window, another site, another step: none of them count.
      funnelEvent('conversion', 'f', T0 + 5 * MIN),
      funnelEvent('conversion', 'g', T0 + 1_000, { site: 'blog' }),
      funnelEvent('conversion', 'h', T0 + 1_000, { fromStage: 'consideration', stage: 'purchase' }),
      funnelEvent('entry', 'i', T0 + 1_000),
    ];
    await db.ch.client.insert({ table: `${db.database}.funnel_events`, values: events.map(funnelEventRow), format: 'JSONEachRow' });
    const touchpoints = [
      touch('p', 'Product Viewed', T0 + 1_000),
      touch('p', 'Product Added', T0 + 2_000),
      touch('q', 'Product Viewed', T0 + 1_000, { deviceType: 'mobile', source: 'ios' }),
      touch('r', 'Product Added', T0 + 1_000), // added before viewing: not a conversion
      touch('r', 'Product Viewed', T0 + 2_000),
      touch('s', 'Product Viewed', T0 + 4 * MIN + 59_000),
      touch('s', 'Product Added', T0 + 5 * MIN + 1_000), // converted in the next window
      touch('t', 'Product Added', T0 + 3_000), // never viewed in the window: not a trial
    ];
    await db.ch.client.insert({ table: `${db.database}.touchpoints`, values: touchpoints, format: 'JSONEachRow' });
  });
  afterAll(async () => db.drop());

  it('counts a stage step as outcomes decided in the window: conversions over conversions plus dropoffs', async () => {
    const counts = await source.counts(byId('stages:awareness-to-consideration'), 'shop', T0, T0 + 5 * MIN);
    expect(counts.trials).toBe(5);
    expect(counts.successes).toBe(3);
    expect(counts.breakdowns).toEqual([
      { dimension: 'campaign', value: NO_VALUE, trials: 3, successes: 2 },
      { dimension: 'campaign', value: 'spring', trials: 2, successes: 1 },
      { dimension: 'channel', value: 'email', trials: 2, successes: 1 },
      { dimension: 'channel', value: 'web', trials: 3, successes: 2 },
    ]);
    const allSites = await source.counts(byId('stages:awareness-to-consideration'), '*', T0, T0 + 5 * MIN);
    expect([allSites.trials, allSites.successes]).toEqual([6, 4]);
    const next = await source.counts(byId('stages:consideration-to-purchase'), 'shop', T0, T0 + 5 * MIN);
    expect([next.trials, next.successes]).toEqual([1, 1]);
  });

  it('counts a funnel step as customers who did the first step and then the second within the window', async () => {
    const counts = await source.counts(byId('checkout:product-viewed-to-product-added'), 'shop', T0, T0 + 5 * MIN);
    expect([counts.trials, counts.successes]).toEqual([4, 1]);
    expect(counts.breakdowns).toEqual([
      { dimension: 'deviceType', value: 'desktop', trials: 3, successes: 1 },
      { dimension: 'deviceType', value: 'mobile', trials: 1, successes: 0 },
    ]);
  });

  it('counts volume as events from one source in the window', async () => {
    const counts = await source.counts(byId('volume:web'), 'shop', T0, T0 + 5 * MIN);
    expect(counts.trials).toBe(6);
    expect(counts.breakdowns).toEqual([{ dimension: 'deviceType', value: 'desktop', trials: 6, successes: 6 }]);
    expect((await source.counts(byId('volume:web'), 'shop', T0 - 5 * MIN, T0)).trials).toBe(0);
  });

  it('counts a combined volume monitor as the events of all its sources together', async () => {
    // 6 from web and 1 from ios (none from android) in the window.
    expect((await source.counts(byId('site-volume'), 'shop', T0, T0 + 5 * MIN)).trials).toBe(7);
    expect((await source.counts(byId('site-volume'), 'shop', T0 - 5 * MIN, T0)).trials).toBe(0);
  });

  it('lists the sites that have data in a range', async () => {
    expect(await source.sites(T0 - 60 * MIN, T0 + 60 * MIN)).toEqual(['blog', 'shop']);
    expect(await source.sites(T0 - 3 * 7 * 24 * 60 * MIN, T0 - 2 * 7 * 24 * 60 * MIN)).toEqual([]);
  });
});
