import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { stopAfterEach } from '../support/cleanup.js';
import { waitForDrained } from '../support/drain.js';
import { eventually } from '../support/eventually.js';
import { testBrokers, uniqueGroupId, uniquePrefix, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, testKafka } from '../support/pipeline.js';
import { finalSessions, sessionizerGroups, stageOf, testSessionizer, testWriter } from '../support/journey-fixtures.js';
import { sessionizerConfig } from '../../services/sessionizer/core/sessions.js';
import { verifySessions } from '../../services/sessionizer/verify/verify-sessions.js';
import { runScript } from '../support/processes.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

describe('history import (npm run import) through the pipeline', () => {
  let db: TestDatabase;
  let kafka: Kafka;
  const cleanup = stopAfterEach();
  beforeAll(async () => {
    db = await freshDatabase('history');
    kafka = testKafka('history-it');
  });
  afterAll(async () => db.drop());

  it('three weeks ago, imported in two files with the pipeline idle between them: sessions and conversion windows follow the events’ time', async () => {
    const prefix = uniquePrefix();
    const topics = uniqueTopics(prefix);
    await createTestTopics(kafka, topics, 2);
    const registry = new Registry();
    const groupId = uniqueGroupId('hist');
    const writer = cleanup.started(testWriter(kafka, topics, db.ch));
    const sessionizer = cleanup.started(testSessionizer(kafka, topics, groupId, { registry }));
    for (const c of [writer, sessionizer]) await c.start();
    const groups = [...sessionizerGroups(groupId, topics), writer.group];

    const day0 = Math.floor((Date.now() - 21 * DAY) / DAY) * DAY + 10 * 60 * MIN;
    const event = (userId: string, event: string, at: number) => JSON.stringify({ type: 'track', userId, event, timestamp: new Date(at).toISOString() });
    const dir = mkdtempSync(join(tmpdir(), 'history-it-'));
    const files = {
      first: join(dir, 'day0.jsonl'),
      second: join(dir, 'later.jsonl'),
    };
    writeFileSync(files.first, [event('h1', 'Product Viewed', day0), event('h2', 'Product Viewed', day0 + 5 * MIN), event('h1', 'Product Viewed', day0 + 20 * MIN)].join('\n'));
    writeFileSync(
      files.second,
      [
        // 25 minutes after h1's last event: the same session.
        event('h1', 'Product Viewed', day0 + 45 * MIN),
        // Day 3: h1 buys within its 7-day conversion window.
        event('h1', 'Order Completed', day0 + 3 * DAY),
        // Day 9: h2 comes back; its window closed on day 7 (a drop-off at that time).
        event('h2', 'Product Viewed', day0 + 9 * DAY),
      ].join('\n'),
    );
    const dataDir = mkdtempSync(join(tmpdir(), 'history-data-'));
    const env = { KAFKA_BROKERS: testBrokers().join(','), KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: '2', DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
    const runImport = (file: string) => runScript('services/collector/import/main.ts', env, ['--source', 'wk_shop_server', file]);
    const idleTicks = async () => Number(/(\d+)\s*$/.exec((await registry.getSingleMetricAsString('sessionizer_idle_ticks_total')).trim())?.[1] ?? 0);

    expect(await runImport(files.first)).toMatch(/3 accepted, 0 rejected/);
    await eventually(() => finalSessions(db.ch.client, db.database), (s) => s.length === 2, 60_000, 200, 'the first file\'s sessions');
    await waitForDrained(kafka, groups);
    // The pipeline sits idle and caught up for a while, ticking: the wall clock is three weeks ahead
    // of these events, and must close nothing and expire no window.
    const ticked = await idleTicks();
    await eventually(idleTicks, (n) => n >= ticked + 6, 60_000, 200, 'idle ticks');

    expect(await runImport(files.second)).toMatch(/3 accepted, 0 rejected/);
    // Importing a file again adds nothing.
    expect(await runImport(files.second)).toMatch(/imported before .* nothing to do/);
    await eventually(() => finalSessions(db.ch.client, db.database), (s) => s.length === 4, 60_000, 200, 'every session');
    await waitForDrained(kafka, groups);

    // By the session rules (30-minute gap): h1 {0, 20, 45 min}, {day 3}; h2 {5 min}, {day 9}.
    const sessions = await finalSessions(db.ch.client, db.database);
    expect(sessions.map((s) => `${s.customer_id} ${s.event_count}`).sort()).toEqual(['u:h1 1', 'u:h1 3', 'u:h2 1', 'u:h2 1']);
    // And what `npm run verify` reports: the batch recomputation from the touchpoints table agrees.
    const report = await verifySessions(db.ch.client, db.database, (id) => id, sessionizerConfig(stageOf));
    expect(report).toMatchObject({ touchpoints: 6, expected: 4, found: 4, mismatches: 0, eventCountDifference: 0 });
    const funnel = await db.ch.client
      .query({
        query: `SELECT toString(kind) AS kind, toString(stage) AS stage, customer_id AS customer, toUnixTimestamp64Milli(at) AS at FROM ${db.database}.funnel_events FINAL WHERE kind != 'entry' ORDER BY customer, at`,
        format: 'JSONEachRow',
      })
      .then((r) => r.json<{ kind: string; stage: string; customer: string; at: string | number }>());
    expect(funnel.map((f) => [f.kind, f.stage, f.customer, Number(f.at)])).toEqual([
      ['conversion', 'purchase', 'u:h1', day0 + 3 * DAY],
      ['dropoff', 'consideration', 'u:h2', day0 + 5 * MIN + 7 * DAY],
    ]);
    for (const c of [sessionizer, writer]) await c.stop();
  });
});
