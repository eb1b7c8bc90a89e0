import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunnelEvent, Stage } from '../../schemas/journey.js';
import { topicCodecs, type Topics } from '../../schemas/topics.js';
import { loadMonitors } from '../../services/alerter/config.js';
import type { ConversionMonitor, Monitor } from '../../services/alerter/core/monitors.js';
import type { WebhookBody } from '../../services/alerter/core/messages.js';
import { createAlerterService, type AlerterService } from '../../services/alerter/service.js';
import { createClickHouseWindowSource, type WindowSource } from '../../services/alerter/window-source.js';
import { createKafkaProducer } from '../../services/platform/kafka/producer.js';
import type { Component } from '../../services/platform/runtime/component.js';
import { journeyRoutes } from '../../services/writer/routes.js';
import { createWriterService } from '../../services/writer/service.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { stopAfterEach } from '../support/cleanup.js';
import { waitForDrained, type GroupOnTopics } from '../support/drain.js';
import { eventually } from '../support/eventually.js';
import { uniqueGroupId, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, freshRegistry, testKafka, testLogger } from '../support/pipeline.js';

/*
 * Simulated traffic in 1-minute windows from T0 on one site, three stage steps, 300 customers per
 * step and window whose outcome (conversion or dropoff) is decided in the window:
 *   windows 0-7   stationary (the baseline; verdicts start after 6 warm-up windows),
 *   windows 8-10  consideration → purchase converts 60% less,
 *   windows 11-14 recovered.
 * Counts are deterministic (a small fixed jitter instead of random noise), so the outcome is too.
 */
const WINDOW_MS = 60_000;
const T0 = Date.UTC(2025, 2, 3, 10, 0);
const WINDOWS = 15;
const BREAK = { from: 8, to: 10 };
const CUSTOMERS = 300;
const LATENESS_MS = 30_000;
const STEPS: Array<{ from: Stage; to: Stage; rate: number }> = [
  { from: 'awareness', to: 'consideration', rate: 0.5 },
  { from: 'consideration', to: 'purchase', rate: 0.4 },
  { from: 'purchase', to: 'retention', rate: 0.6 },
];
const BROKEN = 'stage-conversion:consideration-to-purchase';
const JITTER = [0, 4, -3, 2, -5, 3, -1, 5, -2, 1, -4, 0, 3, -3, 2];

const MONITORS_YAML = `version: 1
defaults:
  windowMinutes: 1
  minSample: 100
  baseline: { kind: ewma, halfLifeWindows: 6 }
  warmupWindows: 6
  significance: 4
  minRelativeDrop: 0.2
  evidenceWindows: 1
  forWindows: 1
  keepFiringForWindows: 2
  cooldownWindows: 2
  dashboardUrl: "http://dashboard.test/funnel?site={site}&monitor={monitor}&from={from}&to={to}"
monitors:
  - id: stage-conversion
    kind: stage
    stages: [awareness, consideration, purchase, retention]
    breakdowns: [channel]
`;

function windowEvents(window: number): FunnelEvent[] {
  const start = T0 + window * WINDOW_MS;
  return STEPS.flatMap((step, s) => {
    const broken = step.from === 'consideration' && window >= BREAK.from && window <= BREAK.to;
    const converted = Math.round(step.rate * (broken ? 0.4 : 1) * CUSTOMERS) + (JITTER[(window + s) % JITTER.length] ?? 0);
    return Array.from({ length: CUSTOMERS }, (_, i): FunnelEvent => {
      const customerId = `c-${window}-${s}-${i}`;
      const conversion = i < converted;
      return {
        eventId: `fe-${customerId}`,
        kind: conversion ? 'conversion' : 'dropoff',
        fromStage: conversion ? step.from : null,
        stage: conversion ? step.to : step.from,
        at: start + Math.floor((i * (WINDOW_MS - 1)) / CUSTOMERS),
        customerId,
        site: 'shop',
        channel: i % 3 === 0 ? 'email' : 'web',
        campaign: null,
        deviceType: 'desktop',
        segment: null,
        secondsToConvert: conversion ? 30 : null,
      };
    });
  });
}

/** A webhook receiver that answers its very first request 503, so delivery must retry. */
async function startWebhookReceiver() {
  const received: WebhookBody[] = [];
  let requests = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      requests++;
      if (requests === 1) {
        res.writeHead(503).end();
        return;
      }
      received.push(JSON.parse(body) as WebhookBody);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, received, requests: () => requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

interface AlertRowRead {
  alert_id: string;
  monitor: string;
  status: 'firing' | 'resolved';
  site: string;
  step: string;
  drop_pct: number;
  since_ms: number | string;
}

describe('alerter on the real broker and ClickHouse', () => {
  let db: TestDatabase;
  let kafka: Kafka;
  let topics: Topics;
  let writer: Component;
  let writerGroup: GroupOnTopics;
  const cleanup = stopAfterEach();
  let webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let monitors: Monitor[];
  let clock = T0;

  beforeAll(async () => {
    db = await freshDatabase('alerter');
    kafka = testKafka('alerter-it');
    topics = uniqueTopics();
    await createTestTopics(kafka, topics, 2);
    const routes = journeyRoutes(topics, db.database);
    writerGroup = { groupId: uniqueGroupId('alerter-writer'), topics: routes.map((r) => r.topic) };
    writer = createWriterService({
      kafka,
      clickhouse: db.ch,
      topics,
      routes,
      groupId: writerGroup.groupId,
      maxBufferRows: 50_000,
      maxRowsPerInsert: 50_000,
      flushIntervalMs: 100,
      registry: freshRegistry(),
      logger: testLogger('alerter-writer'),
    });
    await writer.start();
    webhook = await startWebhookReceiver();
    const file = join(mkdtempSync(join(tmpdir(), 'alerter-it-')), 'monitors.yaml');
    writeFileSync(file, MONITORS_YAML);
    monitors = loadMonitors(file);
  });

  afterAll(async () => {
    await writer?.stop();
    await webhook?.close();
    await db?.drop();
  });

  const startAlerter = async (): Promise<AlerterService> => {
    const alerter = cleanup.started(createAlerterService({
      kafka,
      topics,
      source: createClickHouseWindowSource(db.ch),
      monitors,
      evaluateEveryMs: 1_000,
      latenessMs: LATENESS_MS,
      maxCatchUpMs: 10 * WINDOW_MS,
      webhook: { url: webhook.url, format: 'json', baseDelayMs: 50, maxDelayMs: 200 },
      registry: freshRegistry(),
      logger: testLogger('alerter'),
      now: () => clock,
      every: () => () => {}, // the test drives rounds with evaluateNow()
    }));
    await alerter.start();
    return alerter;
  };

  /**
   * The alerts table once the writer has committed everything published so far (so nothing more
   * can arrive): after `ready` shows in it, the rows are read again and are final.
   */
  const settledAlertRows = async (final: boolean, ready: (rows: AlertRowRead[]) => boolean): Promise<AlertRowRead[]> => {
    await eventually(() => alertRows(final), ready);
    await waitForDrained(kafka, [writerGroup]);
    return alertRows(final);
  };

  /** Moves the clock just past window `w`'s close (end + lateness) and runs one round. */
  const closeWindow = async (alerter: AlerterService, w: number) => {
    clock = T0 + (w + 1) * WINDOW_MS + LATENESS_MS;
    return alerter.evaluateNow();
  };

  const alertRows = async (final: boolean): Promise<AlertRowRead[]> => {
    const rs = await db.ch.client.query({
      query: `SELECT alert_id, monitor, status, site, step, drop_pct, toUnixTimestamp64Milli(since) AS since_ms
              FROM ${db.database}.alerts ${final ? 'FINAL' : ''} WHERE site = {site:String} ORDER BY at`,
      query_params: { site: 'shop' },
      format: 'JSONEachRow',
    });
    return rs.json<AlertRowRead>();
  };

  it('fires exactly once for the broken step, resolves after recovery, and survives a restart mid-incident', async () => {
    // All traffic first, and wait until ClickHouse has it, so every window is complete when it closes.
    const producer = cleanup.started(createKafkaProducer(kafka, { name: 'alerter-it' }));
    await producer.start();
    const codec = topicCodecs.funnelEvents();
    const events = Array.from({ length: WINDOWS }, (_, w) => windowEvents(w)).flat();
    for (let i = 0; i < events.length; i += 3_000) {
      await producer.send(events.slice(i, i + 3_000).map((e) => ({ topic: topics.funnelEvents, key: e.customerId, value: codec.encode(e) })));
    }
    await producer.stop();
    await eventually(
      async () => {
        const rs = await db.ch.client.query({ query: `SELECT uniqExact(event_id) AS n FROM ${db.database}.funnel_events`, format: 'JSONEachRow' });
        return Number((await rs.json<{ n: number | string }>())[0]?.n ?? 0);
      },
      (n) => n === events.length,
    );

    let alerter = await startAlerter();
    // Baseline: windows 0-7 close at once and are caught up in order, silently.
    const baseline = await closeWindow(alerter, BREAK.from - 1);
    expect(baseline.alerts).toEqual([]);
    expect(alerter.state().cursors[BROKEN]).toBe(T0 + (BREAK.from - 1) * WINDOW_MS);

    // The break: the first broken window fires the broken step, and only it.
    const breakRound = await closeWindow(alerter, BREAK.from);
    expect(breakRound.alerts.map((a) => [a.monitor, a.status, a.breakdown])).toEqual([[BROKEN, 'firing', null]]);
    const firing = breakRound.alerts[0]!;
    expect(firing.since).toBe(T0 + BREAK.from * WINDOW_MS);
    expect(firing.dropPct).toBeGreaterThan(50);
    expect(firing.dashboardUrl).toContain('http://dashboard.test/funnel?site=shop');

    await eventually(async () => webhook.received.length, (n) => n >= 1, 30_000);
    await alerter.webhookIdle(); // nothing queued or in flight: what was received is all there is
    expect(webhook.received.map((b) => [b.type, b.alert.alertId])).toEqual([['journey.alert.firing', firing.alertId]]);
    expect(webhook.requests()).toBe(2); // the receiver's 503, then the retry
    const firingRows = await settledAlertRows(false, (rows) => rows.length >= 1);
    expect(firingRows.map((r) => [r.alert_id, r.monitor, r.status, r.step])).toEqual([[firing.alertId, BROKEN, 'firing', 'consideration → purchase']]);

    // Still broken: no re-firing.
    expect((await closeWindow(alerter, BREAK.from + 1)).alerts).toEqual([]);

    // Restart mid-incident: the new instance restores the detector and cursors from the changelog.
    await alerter.stop();
    alerter = await startAlerter();
    expect(alerter.state().cursors[BROKEN]).toBe(T0 + (BREAK.from + 1) * WINDOW_MS);
    expect(alerter.state().detector.groups[JSON.stringify([BROKEN, 'shop'])]?.parent.phase).toBe('firing');

    const published = [];
    for (let w = BREAK.to; w < WINDOWS; w++) published.push(...(await closeWindow(alerter, w)).alerts.map((a) => ({ w, a })));
    // Resolved after keepFiringForWindows (2) normal windows: windows 11 and 12.
    expect(published.map(({ w, a }) => [w, a.monitor, a.status, a.alertId])).toEqual([[BREAK.to + 2, BROKEN, 'resolved', firing.alertId]]);

    await eventually(async () => webhook.received.length, (n) => n >= 2, 30_000);
    await alerter.webhookIdle(); // nothing queued or in flight: what was received is all there is
    expect(webhook.received.map((b) => [b.type, b.alert.monitor, b.alert.alertId])).toEqual([
      ['journey.alert.firing', BROKEN, firing.alertId],
      ['journey.alert.resolved', BROKEN, firing.alertId],
    ]);

    const latest = await settledAlertRows(true, (rows) => rows.some((r) => r.status === 'resolved'));
    expect(latest.map((r) => [r.alert_id, r.monitor, r.status, Number(r.since_ms)])).toEqual([[firing.alertId, BROKEN, 'resolved', T0 + BREAK.from * WINDOW_MS]]);
    // Nothing was ever raised for the healthy steps (nor for any breakdown value).
    const everything = await alertRows(false);
    expect(new Set(everything.map((r) => r.alert_id))).toEqual(new Set([firing.alertId]));
    expect(alerter.health().ok).toBe(true);
    await alerter.stop();
  });

  it('keeps a window whose queries failed for the next round, reports unhealthy after 3 failures, and is never held up by the webhook', async () => {
    // Same traffic, from memory, so the failure is the only thing under test.
    let failing = false;
    const source: WindowSource = {
      async counts(monitor, _site, from) {
        if (failing) throw new Error('ClickHouse is unreachable');
        const window = Math.round((from - T0) / WINDOW_MS);
        if (window < 0) return { trials: 0, successes: 0, breakdowns: [] };
        const step = (monitor as ConversionMonitor).from;
        const events = windowEvents(window).filter((e) => (e.kind === 'conversion' ? e.fromStage : e.stage) === step);
        return { trials: events.length, successes: events.filter((e) => e.kind === 'conversion').length, breakdowns: [] };
      },
      sites: async () => ['shop'],
    };
    const ownTopics = uniqueTopics();
    await createTestTopics(kafka, ownTopics, 2);
    // A receiver that never answers: deliveries pile up in the background while detection goes on.
    const hanging = () => new Promise<{ status: number }>(() => {});
    clock = T0;
    const alerter = cleanup.started(createAlerterService({
      kafka,
      topics: ownTopics,
      source,
      monitors,
      evaluateEveryMs: 1_000,
      latenessMs: LATENESS_MS,
      maxCatchUpMs: 10 * WINDOW_MS,
      webhook: { url: 'http://127.0.0.1:9/never', format: 'slack', post: hanging, timeoutMs: 600_000, stopGraceMs: 100 },
      registry: freshRegistry(),
      logger: testLogger('alerter-faults'),
      now: () => clock,
      every: () => () => {},
    }));
    await alerter.start();
    await closeWindow(alerter, BREAK.from - 1);

    failing = true;
    for (let i = 1; i <= 3; i++) {
      await expect(closeWindow(alerter, BREAK.from)).rejects.toThrow('ClickHouse is unreachable');
      expect(alerter.health().ok).toBe(i < 3);
    }
    expect(alerter.state().cursors[BROKEN]).toBe(T0 + (BREAK.from - 1) * WINDOW_MS);

    failing = false;
    const recovered = await closeWindow(alerter, BREAK.from);
    expect(recovered.alerts.map((a) => [a.monitor, a.status])).toEqual([[BROKEN, 'firing']]);
    expect(alerter.health().ok).toBe(true);
    expect(alerter.webhookBacklog()).toBe(1);

    // The webhook still hangs; rounds complete regardless, up to the resolution.
    const later = [];
    for (let w = BREAK.from + 1; w < WINDOWS; w++) later.push(...(await closeWindow(alerter, w)).alerts);
    expect(later.map((a) => [a.monitor, a.status])).toEqual([[BROKEN, 'resolved']]);
    expect(alerter.webhookBacklog()).toBe(2);
    await alerter.stop();
  });
});
