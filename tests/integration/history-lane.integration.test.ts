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
import { finalSessions, produceTouchpoints, sessionizerGroups, stageOf, testSessionizer, testWriter, tp } from '../support/journey-fixtures.js';
import { runScript } from '../support/processes.js';
import { partitionOfKey } from '../../services/platform/kafka/partition-of-key.js';
import { sessionizerConfig, type SessionConfig } from '../../services/sessionizer/core/sessions.js';
import { verifySessions } from '../../services/sessionizer/verify/verify-sessions.js';
import { historyMarkerRecords } from '../../services/collector/import/importer.js';
import { historyImporter } from '../support/history-import.js';
import { createKafkaProducer } from '../../services/platform/kafka/producer.js';

const SEC = 1_000;
const MIN = 60 * SEC;
const DAY = 24 * 60 * MIN;
/**
 * Sessions end after 20 s without an event and nothing waits for stragglers (grace 0): a live
 * session can close within the test. `verify` checks with the same rules.
 */
const SESSIONS: Partial<SessionConfig> = { inactivityGapMs: 20 * SEC, graceMs: 0 };

describe('the history lane: an import while live traffic flows (docs/history-lane.md)', () => {
  let db: TestDatabase;
  let kafka: Kafka;
  const cleanup = stopAfterEach();
  beforeAll(async () => {
    db = await freshDatabase('lane');
    kafka = testKafka('history-lane-it');
  });
  afterAll(async () => db.drop());

  it('live touchpoints are queryable during the import, an idle live session stays open until the import’s end, and the imported sessions match a batch recomputation', async () => {
    const prefix = uniquePrefix();
    const topics = uniqueTopics(prefix);
    await createTestTopics(kafka, topics, 2);
    const registry = new Registry();
    const groupId = uniqueGroupId('lane');
    const writer = cleanup.started(testWriter(kafka, topics, db.ch));
    const sessionizer = cleanup.started(testSessionizer(kafka, topics, groupId, { registry, sessions: SESSIONS }));
    for (const c of [writer, sessionizer]) await c.start();
    const groups = [...sessionizerGroups(groupId, topics), writer.group];
    const query = async <T>(sql: string) => (await db.ch.client.query({ query: sql, format: 'JSONEachRow' })).json<T>();
    const sessionsOf = async (customerId: string) => (await finalSessions(db.ch.client, db.database)).filter((s) => s.customer_id === customerId);
    const live = (userId: string, messageId: string) => {
      const now = Date.now();
      return tp({ messageId, userId, anonymousId: null, type: 'track', event: 'Product Viewed', timestamp: now, receivedAt: now });
    };
    /** Live customers on touchpoints partition p (live traffic reaches every partition). */
    const onPartition = (p: number, n: number) => Array.from({ length: 100 }, (_, i) => `l${i}`).filter((id) => partitionOfKey(topics.touchpoints, id, 2) === p).slice(0, n);
    const [[a0, a1, a2], [b0, b1, b2]] = [onPartition(0, 3), onPartition(1, 3)] as [string[], string[]];
    const liveIn = async (ids: string[]) =>
      (await query<{ c: string }>(`SELECT customer_id AS c FROM ${db.database}.touchpoints FINAL WHERE customer_id IN (${ids.map((id) => `'u:${id}'`).join()}) ORDER BY c`)).map((r) => r.c);

    // The pipeline is live before the import: its clock is at the live time.
    await produceTouchpoints(kafka, topics, [live(a0!, 'live-0a'), live(b0!, 'live-0b')]);
    await eventually(() => liveIn([a0!, b0!]), (c) => c.length === 2, 60_000, 200, 'live traffic before the import');

    // The history: 300 customers over ten days, twenty days ago, in two parts; each customer
    // views a product, again 10 s later (the same session), and again a day later (another).
    const day0 = Math.floor((Date.now() - 20 * DAY) / DAY) * DAY;
    const event = (userId: string, at: number) => JSON.stringify({ type: 'track', userId, event: 'Product Viewed', timestamp: new Date(at).toISOString() });
    const history = Array.from({ length: 300 }, (_, i) => {
      const at = day0 + i * 45 * MIN;
      return [event(`h${i}`, at), event(`h${i}`, at + 10 * SEC), event(`h${i}`, at + DAY)];
    })
      .flat()
      .map((line) => ({ line, at: Date.parse(JSON.parse(line).timestamp) }))
      .sort((a, b) => a.at - b.at);
    // Cut in the middle, where the next event is minutes away; a customer's session spans the
    // cut: 10 s after the first part's last event, and 10 s later in the second part.
    let cut = Math.floor(history.length / 2);
    while (history[cut]!.at - history[cut - 1]!.at < MIN) cut++;
    const before = history[cut - 1]!.at;
    const part1 = [...history.slice(0, cut).map((h) => h.line), event('bridge', before + 10 * SEC)];
    const part2 = [event('bridge', before + 20 * SEC), ...history.slice(cut).map((h) => h.line)];

    // The import, as `npm run import` does it (importer.ts): a begin marker on every partition of
    // the history lane, the lines through the collector's validation into touchpoints-history, an
    // end marker on every partition. Here in two steps, with live traffic checked in between.
    const producer = createKafkaProducer(kafka, { name: 'lane-import' });
    await producer.start();
    cleanup.started(producer);
    const importPart = historyImporter(producer, topics);
    await producer.send(historyMarkerRecords(topics.touchpointsHistory, 2, { kind: 'begin', firstEventTime: day0 }));
    expect(await importPart(part1)).toMatchObject({ accepted: part1.length, rejected: 0 });
    const touchpointsIn = async () => Number((await query<{ n: string }>(`SELECT count() AS n FROM ${db.database}.touchpoints FINAL WHERE customer_id NOT LIKE 'u:l%'`))[0]?.n);
    await eventually(touchpointsIn, (n) => n === part1.length, 90_000, 250, 'the first part in ClickHouse');

    // During the import, live traffic on both touchpoints partitions: processed at once, queryable.
    const first = live(a1!, 'live-1');
    await produceTouchpoints(kafka, topics, [first, live(b1!, 'live-2')]);
    await eventually(() => liveIn([a1!, b1!]), (c) => c.length === 2, 60_000, 200, 'the first live touchpoints queryable during the import');
    // More than a session gap later, live traffic again: both live partitions' event time passes the
    // first live sessions' end. They stay open: the clock is the history's while it trails.
    await eventually(async () => Date.now(), (now) => now > first.timestamp + 25 * SEC, 60_000, 250, 'a session gap of wall clock');
    await produceTouchpoints(kafka, topics, [live(a2!, 'live-3'), live(b2!, 'live-4')]);
    await eventually(() => liveIn([a2!, b2!]), (c) => c.length === 2, 60_000, 200, 'the later live touchpoints queryable during the import');
    await waitForDrained(kafka, groups);
    for (const id of [a1!, b1!]) expect((await sessionsOf(`u:${id}`)).map((s) => s.status === 'closed')).toEqual([false]);

    expect(await importPart(part2)).toMatchObject({ accepted: part2.length, rejected: 0 });
    await producer.send(historyMarkerRecords(topics.touchpointsHistory, 2, { kind: 'end' }));
    // After the end: the clock is the live sources' again, and the first live sessions close.
    for (const id of [a1!, b1!]) await eventually(() => sessionsOf(`u:${id}`), (s) => s.length === 1 && s[0]!.status === 'closed', 90_000, 250, `${id}’s session closed after the import’s end`);

    // A second import, of older events, by the command itself: it opens the lane again at its own
    // time and closes it at its end.
    const olderDay = day0 - 30 * DAY;
    const dir = mkdtempSync(join(tmpdir(), 'history-lane-it-'));
    const file = join(dir, 'older.jsonl');
    writeFileSync(file, Array.from({ length: 40 }, (_, i) => [event(`g${i}`, olderDay + i * MIN), event(`g${i}`, olderDay + i * MIN + 15 * SEC)]).flat().join('\n'));
    const env = { KAFKA_BROKERS: testBrokers().join(','), KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: '2', DATA_DIR: mkdtempSync(join(tmpdir(), 'history-lane-data-')), LOG_LEVEL: 'warn' };
    const out = await runScript('services/collector/import/main.ts', env, ['--source', 'wk_shop_server', file]);
    expect(out).toMatch(/80 accepted, 0 rejected/);
    expect(out).toMatch(/history lane closed: an end marker on each of the 2 partitions/);

    // Every imported customer's sessions closed (h*, g*, bridge): 600 + 40 + 1.
    await eventually(
      () => query<{ n: string }>(`SELECT count() AS n FROM ${db.database}.sessions FINAL WHERE status = 'closed' AND customer_id NOT LIKE 'u:l%'`),
      (r) => Number(r[0]?.n) === 641,
      120_000,
      250,
      'every imported session closed',
    );
    await waitForDrained(kafka, groups);
    // Every touchpoint exactly once in ClickHouse, none late.
    const rows = await query<{ n: string; late: string }>(`SELECT count() AS n, countIf(late) AS late FROM ${db.database}.touchpoints FINAL`);
    expect(rows.map((r) => [Number(r.n), Number(r.late)])).toEqual([[900 + 2 + 80 + 6, 0]]);
    // What `npm run verify` reports: the sessions equal a batch recomputation from the touchpoints
    // table, the imported ones (the clock went back to their time when the import began) and the
    // live ones.
    const report = await verifySessions(db.ch.client, db.database, (id) => id, sessionizerConfig(stageOf, SESSIONS));
    expect(report).toMatchObject({ touchpoints: 988, expected: 600 + 1 + 40 + 6, found: 600 + 1 + 40 + 6, mismatches: 0, eventCountDifference: 0 });
    for (const c of [sessionizer, writer]) await c.stop();
  });
});
