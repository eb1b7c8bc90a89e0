import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { testBrokers, uniqueGroupId, uniquePrefix, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, eventually, testKafka } from '../support/pipeline.js';
import { finalSessions, produceTouchpoints, testWriter, tp } from '../support/journey-fixtures.js';
import { startServiceProcess, waitForOutput, type ServiceProcess } from '../support/processes.js';

const MIN = 60_000;

describe('sessionizer under kill -9', () => {
  let db: TestDatabase;
  let kafka: Kafka;
  beforeAll(async () => {
    db = await freshDatabase('crash');
    kafka = testKafka('sessionizer-crash');
  });
  afterAll(async () => db.drop());

  it('a processing instance killed mid-stream loses no session and duplicates none after dedup', async () => {
    const prefix = uniquePrefix();
    const topics = uniqueTopics(prefix);
    await createTestTopics(kafka, topics, 4);
    const writer = testWriter(kafka, topics, db.ch);
    await writer.start();
    const groupId = uniqueGroupId('sess-crash');
    const outputs: Array<() => string> = [];
    const start = async (): Promise<ServiceProcess> => {
      const svc = startServiceProcess('services/sessionizer/main.ts', {
        KAFKA_BROKERS: testBrokers().join(','),
        KAFKA_TOPIC_PREFIX: prefix,
        SESSIONIZER_GROUP_ID: groupId,
        SESSIONIZER_HTTP_PORT: '0',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      });
      outputs.push(() => svc.output());
      await waitForOutput(svc, 'health at');
      return svc;
    };
    const customers = 200;
    const perCustomer = 6;
    const t0 = Date.now() - 2 * MIN;
    const event = (c: number, i: number) =>
      tp({ messageId: `k-${c}-${i}`, userId: `crash-${c}`, anonymousId: null, timestamp: t0 + i * 5_000 });

    let svc = await start();
    // Stream in rounds; kill -9 the sessionizer twice in the middle of the stream.
    for (let i = 0; i < perCustomer; i++) {
      await produceTouchpoints(kafka, topics, Array.from({ length: customers }, (_, c) => event(c, i)));
      if (i === 2 || i === 4) {
        await new Promise((r) => setTimeout(r, 300));
        svc.child.kill('SIGKILL');
        await svc.exited;
        svc = await start();
      }
    }
    const mine = (rows: Awaited<ReturnType<typeof finalSessions>>) => rows.filter((r) => r.customer_id.startsWith('u:crash-'));
    const sessions = await eventually(
      () => finalSessions(db.ch.client, db.database),
      (rows) => mine(rows).length === customers && mine(rows).every((r) => r.event_count === perCustomer),
      90_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- sessionizer output ---\n${outputs.map((o) => o().slice(-200_000)).join('\n---\n')}`);
    });
    // One session per customer, each with every event exactly once.
    expect(mine(sessions)).toHaveLength(customers);
    expect(new Set(mine(sessions).map((r) => r.session_id)).size).toBe(customers);
    const rs = await db.ch.client.query({
      query: `SELECT count() AS rows, uniqExact(message_id) AS distinct_ids FROM ${db.database}.touchpoints FINAL WHERE customer_id LIKE 'u:crash-%'`,
      format: 'JSONEachRow',
    });
    const [counts] = await rs.json<{ rows: number; distinct_ids: number }>();
    expect(Number(counts!.rows)).toBe(customers * perCustomer);
    expect(Number(counts!.distinct_ids)).toBe(customers * perCustomer);
    svc.child.kill('SIGTERM');
    await svc.exited;
    await writer.stop();
  });
});
