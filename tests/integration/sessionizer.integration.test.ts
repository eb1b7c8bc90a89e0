import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Topics } from '../../schemas/topics.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { stopAfterEach } from '../support/cleanup.js';
import { waitForDrained, type GroupOnTopics } from '../support/drain.js';
import { eventually } from '../support/eventually.js';
import { uniqueGroupId, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, freshRegistry, testKafka } from '../support/pipeline.js';
import { finalSessions, produceTouchpoints, sessionizerGroups, testSessionizer, testWriter, tp, type SessionRowView } from '../support/journey-fixtures.js';

const MIN = 60_000;

describe('sessionizer on the real broker', () => {
  let db: TestDatabase;
  let kafka: Kafka;
  const cleanup = stopAfterEach();
  beforeAll(async () => {
    db = await freshDatabase('sess');
    kafka = testKafka('sessionizer-it');
  });
  afterAll(async () => db.drop());

  /** A writer and the groups to drain (sessionizer, then writer) before reading exact counts. */
  const pipeline = async (topics: Topics, groupId: string) => {
    const writer = cleanup.started(testWriter(kafka, topics, db.ch));
    await writer.start();
    const groups: GroupOnTopics[] = [...sessionizerGroups(groupId, topics), writer.group];
    /**
     * Waits until the sessions show `ready` (the last event sent is in them), then until every group
     * has committed all it was sent, and reads the sessions again: counts read then are final, so an
     * event counted twice shows (a wait for the expected count alone could catch a passing state).
     */
    const settledSessions = async (ready: (s: SessionRowView[]) => boolean) => {
      await eventually(() => finalSessions(db.ch.client, db.database), ready);
      await waitForDrained(kafka, groups);
      return finalSessions(db.ch.client, db.database);
    };
    return { writer, settledSessions };
  };

  it('merges anonymous and identified activity into one customer and one session', async () => {
    const topics = uniqueTopics();
    await createTestTopics(kafka, topics, 4);
    const groupId = uniqueGroupId('sess');
    const { settledSessions } = await pipeline(topics, groupId);
    const sessionizer = cleanup.started(testSessionizer(kafka, topics, groupId));
    await sessionizer.start();
    const t0 = Date.now() - 10 * MIN;
    await produceTouchpoints(kafka, topics, [
      tp({ messageId: 'm1', anonymousId: 'anon-merge', userId: null, type: 'page', event: 'page', timestamp: t0 }),
      tp({ messageId: 'm2', anonymousId: 'anon-merge', userId: null, event: 'Product Viewed', timestamp: t0 + MIN }),
    ]);
    // The anonymous visitor is a customer of its own until it identifies.
    // The database is shared by this file's tests: look at this test's customers only.
    const mine = (s: SessionRowView[]) => s.filter((r) => r.customer_id === 'a:anon-merge' || r.customer_id === 'u:user-merge');
    const anonymous = mine(await settledSessions((s) => mine(s).some((r) => r.customer_id === 'a:anon-merge' && r.ended_ms === t0 + MIN && r.event_count >= 2)));
    expect(anonymous).toEqual([expect.objectContaining({ customer_id: 'a:anon-merge', event_count: 2 })]);
    await produceTouchpoints(kafka, topics, [
      tp({ messageId: 'm3', anonymousId: 'anon-merge', userId: 'user-merge', type: 'identify', event: 'identify', timestamp: t0 + 2 * MIN }),
      tp({ messageId: 'm4', anonymousId: 'anon-merge', userId: 'user-merge', event: 'Product Added', timestamp: t0 + 3 * MIN }),
    ]);
    // Ready when the absorbed session is gone and the survivor's has m4 (the last event sent).
    const merged = (s: SessionRowView[]) => mine(s).length === 1 && mine(s)[0]!.customer_id === 'u:user-merge' && mine(s)[0]!.ended_ms === t0 + 3 * MIN && mine(s)[0]!.event_count >= 4;
    const sessions = mine(await settledSessions(merged));
    expect(sessions).toEqual([expect.objectContaining({ customer_id: 'u:user-merge', event_count: 4, ended_ms: t0 + 3 * MIN })]);
    await sessionizer.stop();
  });

  it('restores state after a restart: the session continues, a redelivered event is not counted twice', async () => {
    const topics = uniqueTopics();
    await createTestTopics(kafka, topics, 2);
    const groupId = uniqueGroupId('sess');
    const { settledSessions } = await pipeline(topics, groupId);
    const t0 = Date.now() - 10 * MIN;
    const first = cleanup.started(testSessionizer(kafka, topics, groupId));
    await first.start();
    await produceTouchpoints(kafka, topics, [
      tp({ messageId: 'r1', userId: 'user-restart', anonymousId: null, timestamp: t0 }),
      tp({ messageId: 'r2', userId: 'user-restart', anonymousId: null, timestamp: t0 + MIN }),
    ]);
    const mine = (s: SessionRowView[]) => s.filter((r) => r.customer_id === 'u:user-restart');
    const before = mine(await settledSessions((s) => mine(s).some((r) => r.ended_ms === t0 + MIN && r.event_count >= 2)));
    expect(before).toEqual([expect.objectContaining({ customer_id: 'u:user-restart', event_count: 2 })]);
    await first.stop();
    const second = cleanup.started(testSessionizer(kafka, topics, groupId));
    await second.start();
    await produceTouchpoints(kafka, topics, [
      tp({ messageId: 'r2', userId: 'user-restart', anonymousId: null, timestamp: t0 + MIN }), // redelivered
      tp({ messageId: 'r3', userId: 'user-restart', anonymousId: null, timestamp: t0 + 2 * MIN }),
    ]);
    // r3 comes after the redelivered r2 in the same partition: once r3 is in the session, r2 was
    // processed too, and counting it again would make 4.
    const sessions = mine(await settledSessions((s) => mine(s).some((r) => r.ended_ms === t0 + 2 * MIN && r.event_count >= 3)));
    expect(sessions).toEqual([expect.objectContaining({ customer_id: 'u:user-restart', event_count: 3, ended_ms: t0 + 2 * MIN })]);
    await second.stop();
  });

  it('restores from its local copy and the changelog tail, which another instance wrote meanwhile', async () => {
    const topics = uniqueTopics();
    await createTestTopics(kafka, topics, 1);
    const groupId = uniqueGroupId('sess');
    const { settledSessions } = await pipeline(topics, groupId);
    const stateDir = mkdtempSync(join(tmpdir(), 'sessionizer-state-'));
    const metric = async (registry: Registry, name: string, labels: Record<string, string> = {}) =>
      (await registry.getSingleMetric(name)!.get()).values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((n, v) => n + v.value, 0);
    const t0 = Date.now() - 10 * MIN;
    const mine = (s: SessionRowView[]) => s.filter((r) => r.customer_id.startsWith('u:user-copy-'));
    const event = (c: number, i: number) => tp({ messageId: `copy-${c}-${i}`, userId: `user-copy-${c}`, anonymousId: null, timestamp: t0 + i * MIN });
    const customers = [0, 1, 2, 3, 4];
    const reached = (events: number) => (s: SessionRowView[]) => mine(s).length === customers.length && mine(s).every((r) => r.event_count >= events);
    try {
      // 1. An instance with a local copy processes two events per customer and stops.
      const first = cleanup.started(testSessionizer(kafka, topics, groupId, { stateDir }));
      await first.start();
      await produceTouchpoints(kafka, topics, customers.map((c) => event(c, 0)));
      await produceTouchpoints(kafka, topics, customers.map((c) => event(c, 1)));
      await settledSessions(reached(2));
      await first.stop();
      // 2. An instance without a copy takes the next event: the changelog grows past the copy.
      const other = cleanup.started(testSessionizer(kafka, topics, groupId));
      await other.start();
      await produceTouchpoints(kafka, topics, customers.map((c) => event(c, 2)));
      await settledSessions(reached(3));
      await other.stop();
      // 3. The instance with the copy again: it restores from the copy plus the tail only.
      const registry = freshRegistry();
      const third = cleanup.started(testSessionizer(kafka, topics, groupId, { stateDir, registry }));
      await third.start();
      await produceTouchpoints(kafka, topics, [event(0, 1) /* redelivered */, ...customers.map((c) => event(c, 3))]);
      const sessions = mine(await settledSessions(reached(4)));
      expect(sessions.map((r) => [r.customer_id, r.event_count])).toEqual(customers.map((c) => [`u:user-copy-${c}`, 4]));
      expect(await metric(registry, 'sessionizer_restores_total', { base: 'local-copy' })).toBe(1);
      expect(await metric(registry, 'sessionizer_restores_total', { base: 'changelog' })).toBe(0);
      // The tail is what the other instance wrote: its state for the five customers and its markers,
      // far less than the whole changelog.
      const tail = await metric(registry, 'sessionizer_restored_changelog_records_total');
      expect(tail).toBeGreaterThan(0);
      await third.stop();
      // 4. After a clean stop the copy is complete: a restart reads nothing from the changelog.
      const again = freshRegistry();
      const fourth = cleanup.started(testSessionizer(kafka, topics, groupId, { stateDir, registry: again }));
      await fourth.start();
      await produceTouchpoints(kafka, topics, customers.map((c) => event(c, 4)));
      const last = mine(await settledSessions(reached(5)));
      expect(last.map((r) => [r.customer_id, r.event_count])).toEqual(customers.map((c) => [`u:user-copy-${c}`, 5]));
      expect(await metric(again, 'sessionizer_restores_total', { base: 'local-copy' })).toBe(1);
      expect(await metric(again, 'sessionizer_restored_changelog_records_total')).toBe(0);
      await fourth.stop();
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('two instances share the partitions; when one leaves, the other restores its state and carries on', async () => {
    const topics = uniqueTopics();
    await createTestTopics(kafka, topics, 4);
    const groupId = uniqueGroupId('sess');
    const { settledSessions } = await pipeline(topics, groupId);
    const a = cleanup.started(testSessionizer(kafka, topics, groupId));
    const b = cleanup.started(testSessionizer(kafka, topics, groupId));
    await a.start();
    await b.start();
    const t0 = Date.now() - 10 * MIN;
    const customers = Array.from({ length: 20 }, (_, i) => `user-rb-${i}`);
    await produceTouchpoints(
      kafka,
      topics,
      customers.flatMap((c) => [tp({ messageId: `${c}-1`, userId: c, anonymousId: null, timestamp: t0 }), tp({ messageId: `${c}-2`, userId: c, anonymousId: null, timestamp: t0 + MIN })]),
    );
    const mine = (s: SessionRowView[]) => s.filter((r) => r.customer_id.startsWith('u:user-rb-'));
    const reached = (endedMs: number, events: number) => (s: SessionRowView[]) =>
      mine(s).length >= customers.length && mine(s).every((r) => r.ended_ms === endedMs && r.event_count >= events);
    const expected = (events: number) => customers.map((c) => `u:${c}`).sort().map((id) => [id, events]);
    const before = mine(await settledSessions(reached(t0 + MIN, 2)));
    expect(before.map((r) => [r.customer_id, r.event_count])).toEqual(expected(2));
    await b.stop(); // a takes over b's partitions (rebalance) and must restore b's sessions
    await produceTouchpoints(kafka, topics, customers.map((c) => tp({ messageId: `${c}-3`, userId: c, anonymousId: null, timestamp: t0 + 2 * MIN })));
    const after = mine(await settledSessions(reached(t0 + 2 * MIN, 3)));
    // Each customer's one session continued (same session id), each event counted once.
    expect(after.map((r) => [r.customer_id, r.event_count])).toEqual(expected(3));
    expect(after.map((r) => r.session_id)).toEqual(before.map((r) => r.session_id));
    await a.stop();
  });
});
