import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { stopAfterEach } from '../support/cleanup.js';
import { waitForDrained } from '../support/drain.js';
import { eventually } from '../support/eventually.js';
import { uniqueGroupId, uniquePrefix, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, testKafka } from '../support/pipeline.js';
import { finalSessions, produceTouchpoints, sessionizerGroups, testSessionizer, testWriter, tp } from '../support/journey-fixtures.js';
import { partitionOfKey } from '../../services/platform/kafka/partition-of-key.js';
import type { SessionConfig } from '../../services/sessionizer/core/sessions.js';
import { historyMarkerRecords } from '../../services/collector/import/importer.js';
import { historyImporter } from '../support/history-import.js';
import { createKafkaProducer } from '../../services/platform/kafka/producer.js';

const SEC = 1_000;
const DAY = 86_400 * SEC;
/** Sessions end after 20 s without an event, nothing waits for stragglers: a live session can close within the test. */
const SESSIONS: Partial<SessionConfig> = { inactivityGapMs: 20 * SEC, graceMs: 0 };
/** Events a journey partition may keep one by one beyond those of the import's begin (SESSIONIZER_HISTORY_MAX_HELD_EVENTS). */
const CAP = 20;

describe('the history lane’s cap (docs/history-lane.md, "The cap")', () => {
  let db: TestDatabase;
  let kafka: Kafka;
  const cleanup = stopAfterEach();
  beforeAll(async () => {
    db = await freshDatabase('cap');
    kafka = testKafka('history-cap-it');
  });
  afterAll(async () => db.drop());

  it('an import that makes a partition keep more live events than the cap stops holding its clock: live sessions close before the import ends, and nothing is lost', async () => {
    const topics = uniqueTopics(uniquePrefix());
    await createTestTopics(kafka, topics, 2);
    const registry = new Registry();
    const groupId = uniqueGroupId('cap');
    const writer = cleanup.started(testWriter(kafka, topics, db.ch));
    const sessionizer = cleanup.started(testSessionizer(kafka, topics, groupId, { registry, sessions: SESSIONS, historyMaxHeldEvents: CAP }));
    for (const c of [writer, sessionizer]) await c.start();
    const groups = [...sessionizerGroups(groupId, topics), writer.group];
    const query = async <T>(sql: string) => (await db.ch.client.query({ query: sql, format: 'JSONEachRow' })).json<T>();
    const count = async (where: string) => Number((await query<{ n: string }>(`SELECT count() AS n FROM ${db.database}.touchpoints FINAL WHERE ${where}`))[0]?.n);
    const metric = async (name: string) => ((await registry.getSingleMetric(name)?.get())?.values ?? []).reduce((n, v) => n + v.value, 0);
    const live = (userId: string, messageId: string) => {
      const now = Date.now();
      return tp({ messageId, userId, anonymousId: null, type: 'track', event: 'Product Viewed', timestamp: now, receivedAt: now });
    };
    /** Live customers whose touchpoints land on touchpoints partition p, and on identified-touchpoints partition q. */
    const onPartitions = (p: number, q: number, n: number) =>
      Array.from({ length: 2_000 }, (_, i) => `l${i}`)
        .filter((id) => partitionOfKey(topics.touchpoints, id, 2) === p && partitionOfKey(topics.identifiedTouchpoints, `u:${id}`, 2) === q)
        .slice(0, n);

    // Live first: the pipeline's clock is at the live time on both partitions.
    await produceTouchpoints(kafka, topics, [live('l-first-0', 'live-first-0'), live('l-first-1', 'live-first-1')]);
    await eventually(() => count(`customer_id LIKE 'u:l-first-%'`), (n) => n === 2, 60_000, 200, 'live traffic before the import');

    // The import begins, twenty days back: its first ten events open sessions that the import's
    // clock keeps open, and it holds both journey partitions' clocks behind the live sources'.
    const day0 = Math.floor((Date.now() - 20 * DAY) / DAY) * DAY;
    const event = (userId: string, at: number) => JSON.stringify({ type: 'track', userId, event: 'Product Viewed', timestamp: new Date(at).toISOString() });
    const producer = cleanup.started(createKafkaProducer(kafka, { name: 'cap-import' }));
    await producer.start();
    const importPart = historyImporter(producer, topics);
    await producer.send(historyMarkerRecords(topics.touchpointsHistory, 2, { kind: 'begin', firstEventTime: day0 }));
    const part1 = Array.from({ length: 10 }, (_, i) => event(`h${i}`, day0 + i * SEC));
    expect(await importPart(part1)).toMatchObject({ accepted: 10, rejected: 0 });
    await eventually(() => count(`customer_id LIKE 'u:h%'`), (n) => n === 10, 90_000, 250, 'the first part in ClickHouse');
    expect(await metric('sessionizer_history_imports_demoted_total')).toBe(0);

    // Live traffic while the import holds the clock: each journey partition keeps every live event
    // one by one (their sessions cannot close), CAP + 5 of them on each, from both live sources.
    const held = [0, 1].flatMap((q) => [...onPartitions(0, q, 13), ...onPartitions(1, q, 12)]);
    await produceTouchpoints(kafka, topics, held.map((id) => live(id, `held-${id}`)));
    await eventually(() => count(`customer_id IN (${held.map((id) => `'u:${id}'`).join()})`), (n) => n === held.length, 60_000, 200, 'the held live touchpoints queryable');
    // Past the cap, each partition demotes the import, once.
    await eventually(() => metric('sessionizer_history_imports_demoted_total'), (n) => n === 2, 60_000, 200, 'the import demoted on both journey partitions');

    // The clock goes on with the live sources: live traffic a session gap later closes the held
    // sessions while the import is still open (without the cap they stay open until its end).
    const heldAt = Date.now();
    await eventually(async () => Date.now(), (now) => now > heldAt + 25 * SEC, 60_000, 250, 'a session gap of wall clock');
    // One on each live source (touchpoints partition), neither among the held customers.
    await produceTouchpoints(kafka, topics, [live(onPartitions(0, 0, 14)[13]!, 'live-later-0'), live(onPartitions(1, 1, 13)[12]!, 'live-later-1')]);
    const heldSessions = async () => (await finalSessions(db.ch.client, db.database)).filter((s) => held.includes(s.customer_id.slice(2)));
    await eventually(heldSessions, (s) => s.length === held.length && s.every((x) => x.status === 'closed'), 90_000, 250, 'the held live sessions closed while the import is open');

    // The rest of the import is processed against the live clock: late, counted, not lost.
    const part2 = Array.from({ length: 10 }, (_, i) => event(`h${10 + i}`, day0 + DAY + i * SEC));
    expect(await importPart(part2)).toMatchObject({ accepted: 10, rejected: 0 });
    await producer.send(historyMarkerRecords(topics.touchpointsHistory, 2, { kind: 'end' }));
    await waitForDrained(kafka, groups);
    expect(await count(`customer_id LIKE 'u:h%'`)).toBe(20);
    expect(await metric('sessionizer_history_demoted_touchpoints_total')).toBe(10);
    expect(await metric('sessionizer_history_imports_demoted_total')).toBe(2);
    expect(await count('1')).toBe(2 + 10 + held.length + 2 + 10);
    for (const c of [sessionizer, writer]) await c.stop();
  });
});
