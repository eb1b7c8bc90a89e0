import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { uniqueGroupId, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, eventually, testKafka } from '../support/pipeline.js';
import { finalSessions, produceTouchpoints, testSessionizer, testWriter, tp } from '../support/journey-fixtures.js';

const MIN = 60_000;

describe('sessionizer on the real broker', () => {
  let db: TestDatabase;
  let kafka: Kafka;
  beforeAll(async () => {
    db = await freshDatabase('sess');
    kafka = testKafka('sessionizer-it');
  });
  afterAll(async () => db.drop());

  it('merges anonymous and identified activity into one customer and one session', async () => {
    const topics = uniqueTopics();
    await createTestTopics(kafka, topics, 4);
    const writer = testWriter(kafka, topics, db.ch);
    const sessionizer = testSessionizer(kafka, topics, uniqueGroupId('sess'));
    await writer.start();
    await sessionizer.start();
    const t0 = Date.now() - 10 * MIN;
    await produceTouchpoints(kafka, topics, [
      tp({ messageId: 'm1', anonymousId: 'anon-merge', userId: null, type: 'page', event: 'page', timestamp: t0 }),
      tp({ messageId: 'm2', anonymousId: 'anon-merge', userId: null, event: 'Product Viewed', timestamp: t0 + MIN }),
    ]);
    // The anonymous visitor is a customer of its own until it identifies.
    await eventually(() => finalSessions(db.ch.client, db.database), (s) => s.some((r) => r.customer_id === 'a:anon-merge' && r.event_count === 2));
    await produceTouchpoints(kafka, topics, [
      tp({ messageId: 'm3', anonymousId: 'anon-merge', userId: 'user-merge', type: 'identify', event: 'identify', timestamp: t0 + 2 * MIN }),
      tp({ messageId: 'm4', anonymousId: 'anon-merge', userId: 'user-merge', event: 'Product Added', timestamp: t0 + 3 * MIN }),
    ]);
    const sessions = await eventually(
      () => finalSessions(db.ch.client, db.database),
      (s) => s.length === 1 && s[0]!.event_count === 4,
    );
    expect(sessions).toEqual([expect.objectContaining({ customer_id: 'u:user-merge', event_count: 4 })]);
    await sessionizer.stop();
    await writer.stop();
  });

  it('restores state after a restart: the session continues, a redelivered event is not counted twice', async () => {
    const topics = uniqueTopics();
    await createTestTopics(kafka, topics, 2);
    const groupId = uniqueGroupId('sess');
    const writer = testWriter(kafka, topics, db.ch);
    await writer.start();
    const t0 = Date.now() - 10 * MIN;
    let sessionizer = testSessionizer(kafka, topics, groupId);
    await sessionizer.start();
    await produceTouchpoints(kafka, topics, [
      tp({ messageId: 'r1', userId: 'user-restart', anonymousId: null, timestamp: t0 }),
      tp({ messageId: 'r2', userId: 'user-restart', anonymousId: null, timestamp: t0 + MIN }),
    ]);
    await eventually(() => finalSessions(db.ch.client, db.database), (s) => s.some((r) => r.customer_id === 'u:user-restart' && r.event_count === 2));
    await sessionizer.stop();
    sessionizer = testSessionizer(kafka, topics, groupId);
    await sessionizer.start();
    await produceTouchpoints(kafka, topics, [
      tp({ messageId: 'r2', userId: 'user-restart', anonymousId: null, timestamp: t0 + MIN }), // redelivered
      tp({ messageId: 'r3', userId: 'user-restart', anonymousId: null, timestamp: t0 + 2 * MIN }),
    ]);
    const sessions = await eventually(
      () => finalSessions(db.ch.client, db.database),
      (s) => s.some((r) => r.customer_id === 'u:user-restart' && r.event_count >= 3),
    );
    expect(sessions.filter((r) => r.customer_id === 'u:user-restart')).toEqual([expect.objectContaining({ event_count: 3 })]);
    await sessionizer.stop();
    await writer.stop();
  });

  it('two instances share the partitions; when one leaves, the other restores its state and carries on', async () => {
    const topics = uniqueTopics();
    await createTestTopics(kafka, topics, 4);
    const groupId = uniqueGroupId('sess');
    const writer = testWriter(kafka, topics, db.ch);
    await writer.start();
    const a = testSessionizer(kafka, topics, groupId);
    const b = testSessionizer(kafka, topics, groupId);
    await a.start();
    await b.start();
    const t0 = Date.now() - 10 * MIN;
    const customers = Array.from({ length: 20 }, (_, i) => `user-rb-${i}`);
    await produceTouchpoints(
      kafka,
      topics,
      customers.flatMap((c) => [tp({ messageId: `${c}-1`, userId: c, anonymousId: null, timestamp: t0 }), tp({ messageId: `${c}-2`, userId: c, anonymousId: null, timestamp: t0 + MIN })]),
    );
    const mine = (s: Awaited<ReturnType<typeof finalSessions>>) => s.filter((r) => r.customer_id.startsWith('u:user-rb-'));
    await eventually(() => finalSessions(db.ch.client, db.database), (s) => mine(s).length === 20 && mine(s).every((r) => r.event_count === 2));
    await b.stop(); // a takes over b's partitions (rebalance) and must restore b's sessions
    await produceTouchpoints(kafka, topics, customers.map((c) => tp({ messageId: `${c}-3`, userId: c, anonymousId: null, timestamp: t0 + 2 * MIN })));
    const sessions = await eventually(
      () => finalSessions(db.ch.client, db.database),
      (s) => mine(s).length === 20 && mine(s).every((r) => r.event_count === 3),
    );
    expect(mine(sessions)).toHaveLength(20);
    await a.stop();
    await writer.stop();
  });
});
