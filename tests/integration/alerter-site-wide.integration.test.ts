import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTouchpoint } from '../../schemas/test-touchpoint.js';
import type { Topics } from '../../schemas/topics.js';
import { parseMonitors } from '../../services/alerter/core/monitors.js';
import { createAlerterService, type AlerterService } from '../../services/alerter/service.js';
import { createClickHouseWindowSource } from '../../services/alerter/window-source.js';
import { touchpointRow } from '../../services/platform/clickhouse/rows.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { stopAfterEach } from '../support/cleanup.js';
import { uniqueTopics } from '../support/kafka.js';
import { createTestTopics, freshRegistry, testKafka, testLogger } from '../support/pipeline.js';

/*
 * One site, two sources, 1-minute windows from T0: web 150 and ios 60 events a window (a small
 * fixed jitter), both stopped in windows 8-10, back from 11. The per-source monitors come first in
 * the file, the site-wide one last: the schedule still judges the site-wide window first.
 */
const WINDOW_MS = 60_000;
const T0 = Date.UTC(2025, 2, 4, 10, 0);
const WINDOWS = 15;
const STOP = { from: 8, to: 10 };
const LATENESS_MS = 30_000;
const RATE: Record<string, number> = { web: 150, ios: 60 };
const JITTER = [0, 4, -3, 2, -5, 3, -1, 5, -2, 1, -4, 0, 3, -3, 2];

const monitors = parseMonitors(
  `version: 1
defaults: { windowMinutes: 1, minSample: 20, baseline: { kind: ewma, halfLifeWindows: 6 }, warmupWindows: 6, significance: 5, minRelativeDrop: 0.5, evidenceWindows: 1, keepFiringForWindows: 2, cooldownWindows: 2 }
monitors:
  - { id: tracking, kind: volume, sources: [web, ios] }
  - { id: site-volume, kind: volume, sources: [web, ios], combineSources: true }
`,
  'test.yaml',
);

function touchpointsOf(window: number) {
  if (window >= STOP.from && window <= STOP.to) return [];
  return Object.entries(RATE).flatMap(([source, rate], s) => {
    const n = rate + (JITTER[(window + s) % JITTER.length] ?? 0);
    return Array.from({ length: n }, (_, i) => {
      const at = T0 + window * WINDOW_MS + Math.floor((i * (WINDOW_MS - 1)) / n);
      const customerId = `c-${source}-${window}-${i}`;
      return touchpointRow({
        customerId,
        accountId: null,
        sessionId: `s-${customerId}`,
        late: false,
        touchpoint: makeTouchpoint({ messageId: `m-${customerId}`, userId: customerId, anonymousId: null, event: 'Page Viewed', timestamp: at, receivedAt: at, site: 'shop', source }),
      });
    });
  });
}

describe('alerter: a whole-site tracking stop on the real broker and ClickHouse', () => {
  let db: TestDatabase;
  let kafka: Kafka;
  let topics: Topics;
  const cleanup = stopAfterEach();
  let clock = T0;

  beforeAll(async () => {
    db = await freshDatabase('alerter_sw');
    kafka = testKafka('alerter-sw-it');
    topics = uniqueTopics();
    await createTestTopics(kafka, topics, 2);
    const rows = Array.from({ length: WINDOWS }, (_, w) => touchpointsOf(w)).flat();
    await db.ch.client.insert({ table: `${db.database}.touchpoints`, values: rows, format: 'JSONEachRow' });
  });
  afterAll(async () => db?.drop());

  const startAlerter = async (registry = freshRegistry()): Promise<AlerterService> => {
    const alerter = cleanup.started(
      createAlerterService({
        kafka,
        topics,
        source: createClickHouseWindowSource(db.ch),
        monitors,
        evaluateEveryMs: 1_000,
        latenessMs: LATENESS_MS,
        // The first start learns from T0 on: its horizon is T0 when window 7 closes.
        maxCatchUpMs: 8 * WINDOW_MS + LATENESS_MS,
        registry,
        logger: testLogger('alerter-sw'),
        now: () => clock,
        every: () => () => {}, // the test drives rounds with evaluateNow()
      }),
    );
    await alerter.start();
    return alerter;
  };

  /** Moves the clock just past window `w`'s close (end + lateness) and runs one round. */
  const closeWindow = async (alerter: AlerterService, w: number) => {
    clock = T0 + (w + 1) * WINDOW_MS + LATENESS_MS;
    return alerter.evaluateNow();
  };

  /** Records on the alerts topic: the sum of its partitions' high watermarks (nothing else writes it). */
  const alertRecords = async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicOffsets(topics.alerts)).reduce((n, p) => n + Number(p.high), 0);
    } finally {
      await admin.disconnect();
    }
  };

  it('pages once from the site-wide monitor, holds back and counts the per-source alerts, and keeps them held across a restart', async () => {
    const registry = freshRegistry();
    let alerter = await startAlerter(registry);
    expect((await closeWindow(alerter, STOP.from - 1)).alerts).toEqual([]);

    const stopRound = await closeWindow(alerter, STOP.from);
    expect(stopRound.alerts.map((a) => [a.monitor, a.status, (a.since - T0) / WINDOW_MS])).toEqual([['site-volume', 'firing', STOP.from]]);
    const suppressed = await registry.getSingleMetric('alerter_alerts_suppressed_total')?.get();
    expect(suppressed?.values.map((v) => [v.labels.monitor, v.value]).sort()).toEqual([
      ['tracking:ios', 1],
      ['tracking:web', 1],
    ]);
    expect(await alertRecords()).toBe(1);

    // Restart mid-incident: the per-source series come back held back, so nothing pages late.
    await alerter.stop();
    alerter = await startAlerter();
    expect(alerter.state().detector.groups[JSON.stringify(['tracking:web', 'shop'])]?.parent).toMatchObject({ phase: 'firing', page: 'suppressed' });

    const later = [];
    for (let w = STOP.from + 1; w < WINDOWS; w++) later.push(...(await closeWindow(alerter, w)).alerts.map((a) => [w, a.monitor, a.status]));
    // Resolved on the second normal window (12); the per-source alerts resolve silently.
    expect(later).toEqual([[STOP.to + 2, 'site-volume', 'resolved']]);
    expect(alerter.state().detector.groups[JSON.stringify(['tracking:web', 'shop'])]?.parent.phase).not.toBe('firing');
    expect(await alertRecords()).toBe(2);
    await alerter.stop();
  });
});
