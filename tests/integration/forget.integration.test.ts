import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Topics } from '../../schemas/topics.js';
import { refreshSnapshots } from '../../services/platform/clickhouse/snapshots.js';
import { parseEnv } from '../../services/platform/config/env.js';
import { deletionsTable, type DeletionView } from '../../services/platform/privacy/deletions-table.js';
import { buildQueryApi } from '../../services/query-api/app.js';
import { buildWriter } from '../../services/writer/build.js';
import { WriterEnv } from '../../services/writer/config.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { stopAfterEach } from '../support/cleanup.js';
import { waitForDrained, type GroupOnTopics } from '../support/drain.js';
import { eventually } from '../support/eventually.js';
import { aliceAndBob, ALICE_RAW, EMAIL, EMAIL_HASH, FORGET_TABLES, latestValues, mentions, writerTopicsOf } from '../support/forget-fixtures.js';
import { produceTouchpoints, sessionizerGroups, testSessionizer, tp } from '../support/journey-fixtures.js';
import { uniqueGroupId, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, freshRegistry, testKafka, testLogger } from '../support/pipeline.js';

const MIN = 60_000;
const T0 = Date.now() - 3 * 60 * MIN;

async function rowsOf(db: TestDatabase, table: string): Promise<Record<string, unknown>[]> {
  const rs = await db.ch.client.query({ query: `SELECT * FROM ${db.database}.${table}`, format: 'JSONEachRow' });
  return rs.json<Record<string, unknown>>();
}

async function tableTexts(db: TestDatabase): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  // Sorted: a background merge may change the order rows are read in, not what they are.
  for (const t of FORGET_TABLES) out[t] = JSON.stringify((await rowsOf(db, t)).map((r) => JSON.stringify(r)).sort());
  return out;
}

/** funnel_minute by value: unique customers and events per minute, stage and kind. */
async function funnelMinutes(db: TestDatabase) {
  const rs = await db.ch.client.query({
    query: `SELECT toString(minute) AS minute, toString(stage) AS stage, toString(kind) AS kind, uniqMerge(customers) AS customers, countMerge(events) AS events
            FROM ${db.database}.funnel_minute GROUP BY minute, stage, kind ORDER BY minute, stage, kind`,
    format: 'JSONEachRow',
  });
  return (await rs.json<Record<string, unknown>>()).map((r) => ({ ...r, customers: Number(r.customers), events: Number(r.events) }));
}

/** What funnel_minute must hold without Alice: the same view over Bob's funnel events alone. */
async function funnelMinutesOf(db: TestDatabase, customers: string[]) {
  const rs = await db.ch.client.query({
    query: `SELECT toString(toStartOfMinute(at)) AS minute, toString(stage) AS stage, toString(kind) AS kind, uniq(customer_id) AS customers, count() AS events
            FROM ${db.database}.funnel_events FINAL WHERE customer_id IN {c:Array(String)} GROUP BY minute, stage, kind ORDER BY minute, stage, kind`,
    query_params: { c: customers },
    format: 'JSONEachRow',
  });
  return (await rs.json<Record<string, unknown>>()).map((r) => ({ ...r, customers: Number(r.customers), events: Number(r.events) }));
}

describe('forget a customer (issue 21) through the whole pipeline', () => {
  let db: TestDatabase;
  let kafka: Kafka;
  const cleanup = stopAfterEach();
  beforeAll(async () => {
    db = await freshDatabase('forget');
    kafka = testKafka('forget-it');
  });
  afterAll(async () => db.drop());

  const writerFor = (topics: Topics, sessionizerGroup: string, writerGroup: string) =>
    buildWriter(
      parseEnv(WriterEnv, {
        CLICKHOUSE_DATABASE: db.database,
        WRITER_GROUP_ID: writerGroup,
        WRITER_SESSIONIZER_GROUP_ID: sessionizerGroup,
        WRITER_FLUSH_INTERVAL_MS: '100',
        WRITER_DELETIONS_POLL_MS: '100',
        WRITER_DELETION_SETTLE_TIMEOUT_MS: '60000',
        TOUCHPOINT_TTL_DAYS: '3650',
      }),
      { kafka, clickhouse: db.ch, topics, registry: freshRegistry(), logger: testLogger('writer') },
    );

  /**
   * What the API and funnel_minute say about Bob, the customer who stays: his profile, the funnel,
   * current stages and churn list (only Bob is left in them), and unique customers per funnel minute
   * (his sessions without their open/closed status, below).
   * Event counts are left out: a reprocessing into the same ClickHouse inserts his funnel events
   * again, which `events` counts and `customers` does not (docs/clickhouse.md).
   */
  const bobAnswers = async () => {
    const window = `from=${T0 - 60 * MIN}&to=${T0 + 24 * 60 * MIN}`;
    // The stage counts are a snapshot refreshed on a schedule: take in what the writer wrote by now.
    await refreshSnapshots(db.ch);
    const api = buildQueryApi({ clickhouse: db.ch, logger: pino({ level: 'silent' }), metrics: new Registry(), now: Date.now, cacheTtlMs: 0 });
    try {
      const out: Record<string, unknown> = {};
      for (const url of ['/api/customers/u%3Abob-1', `/api/funnel?${window}`, '/api/stages/current', '/api/churn?minScore=0&limit=500']) {
        const res = await api.inject({ url });
        expect(res.statusCode, url).toBe(200);
        out[url] = res.json();
      }
      // Whether his first session is closed yet depends on how far event time has come on every
      // source partition, which differs between a live run and a reprocessing; the rest may not.
      const profile = out['/api/customers/u%3Abob-1'] as { sessions: Array<{ status?: string }> };
      for (const session of profile.sessions) delete session.status;
      out.funnelMinuteCustomers = (await funnelMinutes(db)).map(({ events: _events, ...r }) => r);
      return out;
    } finally {
      await api.close();
    }
  };

  it('deleted by her email, Alice leaves no row, state or API answer behind, Bob is unchanged, a restart with a replay does not bring her back, nor does a reprocessing of touchpoints from offset 0 through fresh groups and state topics', async () => {
    const topics = uniqueTopics();
    await createTestTopics(kafka, topics, 2);
    const sessionizerGroup = uniqueGroupId('forget-s');
    const writerGroup = uniqueGroupId('forget-w');
    const stateDir = mkdtempSync(join(tmpdir(), 'forget-state-'));
    const sessionizer = cleanup.started(testSessionizer(kafka, topics, sessionizerGroup, { stateDir }));
    const writer = cleanup.started(writerFor(topics, sessionizerGroup, writerGroup));
    await writer.start();
    await sessionizer.start();
    const writerTopics = writerTopicsOf(topics);
    const groups: GroupOnTopics[] = [...sessionizerGroups(sessionizerGroup, topics), { groupId: writerGroup, topics: writerTopics }];

    const touchpoints = aliceAndBob(T0);
    await produceTouchpoints(kafka, topics, touchpoints);
    await eventually(() => rowsOf(db, 'touchpoints'), (r) => r.length === 8, 60_000, 200, 'every touchpoint stored');
    await waitForDrained(kafka, groups);
    const before = await tableTexts(db);
    expect(mentions(before.touchpoints ?? '').sort()).toEqual([...ALICE_RAW].filter((id) => id !== EMAIL_HASH).sort());
    // Her purchase was attributed (attribution is on in the test sessionizer): the table names her.
    expect(mentions(before.attribution ?? '')).toContain('alice-1');
    const bobFunnel = await funnelMinutesOf(db, ['u:bob-1']);
    expect(bobFunnel.length).toBeGreaterThan(0);
    expect(await funnelMinutes(db)).not.toEqual(bobFunnel); // Alice is in them now

    const deletions = deletionsTable(db.ch);
    const asked = await deletions.request({ kind: 'email', id: EMAIL, suppress: true, requestedBy: 'test' }, Date.now());
    const done = await eventually(() => deletions.read(asked.deletionId), (d) => d?.status === 'done', 90_000, 200, 'the deletion done');
    expect(done).toMatchObject({ status: 'done', idKind: 'email', suppress: true, ids: 4, requestedBy: 'test' });
    // Row versions not yet merged count too (churn scores, sessions): exact for touchpoints only.
    expect(done!.deletedRows).toMatchObject({ touchpoints: 6, dead_letters: 0 });
    expect(done!.deletedRows.churn_scores).toBeGreaterThan(0);

    const checkGone = async (when: string) => {
      const after = await tableTexts(db);
      for (const [table, text] of Object.entries(after)) expect(mentions(text), `${when}: ${table}`).toEqual([]);
      expect((await rowsOf(db, 'touchpoints')).map((r) => r.message_id).sort(), when).toEqual(['bo-1', 'bo-2']);
      expect(await funnelMinutes(db), when).toEqual(bobFunnel);
      for (const topic of [topics.journeyChangelog, topics.identityLinks]) {
        const state = await latestValues(kafka, topic, topic === topics.identityLinks ? 1 : 2);
        for (const [key, value] of state) expect([...mentions(key), ...mentions(value)], `${when}: ${topic} ${key}`).toEqual([]);
      }
      const api = buildQueryApi({ clickhouse: db.ch, logger: pino({ level: 'silent' }), metrics: new Registry(), now: Date.now, cacheTtlMs: 0 });
      try {
        for (const id of ['u:alice-1', 'a:dev-phone', 'a:dev-laptop']) expect((await api.inject({ url: `/api/customers/${encodeURIComponent(id)}` })).statusCode, `${when}: ${id}`).toBe(404);
        const churn = await api.inject({ url: `/api/churn?minScore=0&limit=500` });
        expect(mentions(churn.body), `${when}: /api/churn`).toEqual([]);
        expect(churn.body).toContain('u:bob-1');
      } finally {
        await api.close();
      }
    };
    await waitForDrained(kafka, groups);
    await checkGone('after the deletion');

    // Restart everything; replay Alice's old touchpoints (as a reprocessing would) and send a new
    // event from her phone (suppressed), then read every record topic again from the start with a
    // new writer group.
    await sessionizer.stop();
    await writer.stop();
    const sessionizer2 = cleanup.started(testSessionizer(kafka, topics, sessionizerGroup, { stateDir }));
    const writerGroup2 = uniqueGroupId('forget-w2');
    const writer2 = cleanup.started(writerFor(topics, sessionizerGroup, writerGroup2));
    await writer2.start();
    await sessionizer2.start();
    const now = Date.now();
    await produceTouchpoints(kafka, topics, [
      ...touchpoints.filter((t) => t.messageId.startsWith('al-')).map((t) => ({ ...t, messageId: `${t.messageId}-replayed` })),
      tp({ messageId: 'al-new', anonymousId: 'dev-phone', event: 'Product Viewed', timestamp: now, originalTimestamp: now, sentAt: now, receivedAt: now }),
      tp({ messageId: 'bo-3', anonymousId: null, userId: 'bob-1', event: 'Product Viewed', timestamp: now, originalTimestamp: now, sentAt: now, receivedAt: now }),
    ]);
    await eventually(() => rowsOf(db, 'touchpoints'), (r) => r.some((x) => x.message_id === 'bo-3'), 60_000, 200, "Bob's new touchpoint stored");
    await waitForDrained(kafka, [...sessionizerGroups(sessionizerGroup, topics), { groupId: writerGroup2, topics: writerTopics }]);
    const stillGone = await tableTexts(db);
    for (const [table, text] of Object.entries(stillGone)) expect(mentions(text), `after the replay: ${table}`).toEqual([]);
    // The new writer group wrote Bob's rows again: ReplacingMergeTree collapses them (FINAL).
    expect((await rowsOf(db, 'touchpoints FINAL')).map((r) => r.message_id).sort()).toEqual(['bo-1', 'bo-2', 'bo-3']);
    for (const topic of [topics.journeyChangelog, topics.identityLinks]) {
      const state = await latestValues(kafka, topic, topic === topics.identityLinks ? 1 : 2);
      for (const [key, value] of state) expect([...mentions(key), ...mentions(value)], `after the replay: ${topic} ${key}`).toEqual([]);
    }

    // An operator's reprocessing (README: Privacy, "Reprocessing"): every step from scratch — new
    // consumer groups, fresh state and intermediate topics, no local state — reading touchpoints
    // from offset 0 (Alice's original events, her replayed copies and her new suppressed one are
    // all still there) into the same ClickHouse. Only touchpoints and forgotten-ids are kept.
    const bobBefore = await bobAnswers();
    await sessionizer2.stop();
    await writer2.stop();
    const topics3: Topics = { ...uniqueTopics(), touchpoints: topics.touchpoints, forgottenIds: topics.forgottenIds };
    await createTestTopics(kafka, topics3, 2);
    const sessionizerGroup3 = uniqueGroupId('forget-s3');
    const writerGroup3 = uniqueGroupId('forget-w3');
    const registry3 = freshRegistry();
    const sessionizer3 = cleanup.started(testSessionizer(kafka, topics3, sessionizerGroup3, { stateDir: mkdtempSync(join(tmpdir(), 'forget-state3-')), registry: registry3 }));
    const writer3 = cleanup.started(writerFor(topics3, sessionizerGroup3, writerGroup3));
    await writer3.start();
    await sessionizer3.start();
    await waitForDrained(kafka, [...sessionizerGroups(sessionizerGroup3, topics3), { groupId: writerGroup3, topics: writerTopicsOf(topics3) }]);
    // The router dropped every one of Alice's touchpoints: 6 originals, 6 replayed copies, 1 new.
    const dropped = await registry3.getSingleMetric('sessionizer_forgotten_touchpoints_dropped_total')!.get();
    expect(dropped.values[0]?.value).toBe(13);
    // Bob went through the fresh pipeline again (his state rebuilt in the fresh changelog)...
    const state3 = await latestValues(kafka, topics3.journeyChangelog, 2);
    expect([...state3.keys()].some((k) => k.endsWith('/u:bob-1'))).toBe(true);
    // ...and nothing of Alice is in any table, fresh state topic or API answer.
    const afterReprocessing = await tableTexts(db);
    for (const [table, text] of Object.entries(afterReprocessing)) expect(mentions(text), `after the reprocessing: ${table}`).toEqual([]);
    for (const topic of [topics3.journeyChangelog, topics3.identityLinks]) {
      const state = await latestValues(kafka, topic, topic === topics3.identityLinks ? 1 : 2);
      for (const [key, value] of state) expect([...mentions(key), ...mentions(value)], `after the reprocessing: ${topic} ${key}`).toEqual([]);
    }
    expect((await rowsOf(db, 'touchpoints FINAL')).map((r) => r.message_id).sort()).toEqual(['bo-1', 'bo-2', 'bo-3']);
    // Bob's answers are what they were before the reprocessing.
    expect(await bobAnswers()).toEqual(bobBefore);
  });

  it('deleting an id nobody has is a no-op that says so', async () => {
    const topics = uniqueTopics();
    await createTestTopics(kafka, topics, 2);
    const writer = cleanup.started(writerFor(topics, uniqueGroupId('none-s'), uniqueGroupId('none-w')));
    await writer.start();
    const before = await tableTexts(db);
    const deletions = deletionsTable(db.ch);
    const asked = await deletions.request({ kind: 'userId', id: 'nobody-at-all', suppress: false, requestedBy: 'test' }, Date.now());
    const finished = await eventually(() => deletions.read(asked.deletionId), (d): d is DeletionView => d !== null && d.status !== 'pending', 60_000, 200, 'the deletion finished');
    expect(finished).toMatchObject({ status: 'not_found', ids: 0, deletedRows: {} });
    const after = await tableTexts(db);
    expect({ ...after, deletions: '' }).toEqual({ ...before, deletions: '' });
  });
});
