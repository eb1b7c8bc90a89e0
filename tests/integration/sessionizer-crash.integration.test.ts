import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { stopAfterEach } from '../support/cleanup.js';
import { committedBy, waitForDrained } from '../support/drain.js';
import { eventually } from '../support/eventually.js';
import { uniqueGroupId, uniquePrefix, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, testKafka } from '../support/pipeline.js';
import { finalSessions, produceTouchpoints, sessionizerGroups, sessionizerProcessEnv, testWriter, tp, type SessionRowView } from '../support/journey-fixtures.js';
import { startServiceProcess, waitForOutput, type ServiceProcess } from '../support/processes.js';

const MIN = 60_000;

describe('sessionizer under kill -9', () => {
  let db: TestDatabase;
  let kafka: Kafka;
  const cleanup = stopAfterEach();
  beforeAll(async () => {
    db = await freshDatabase('crash');
    kafka = testKafka('sessionizer-crash');
  });
  afterAll(async () => db.drop());

  it('a processing instance killed mid-stream loses no session and duplicates none after dedup', async () => {
    const prefix = uniquePrefix();
    const topics = uniqueTopics(prefix);
    await createTestTopics(kafka, topics, 4);
    const writer = cleanup.started(testWriter(kafka, topics, db.ch));
    await writer.start();
    const groupId = uniqueGroupId('sess-crash');
    const [router, sessionsGroup] = sessionizerGroups(groupId, topics);
    const outputs: Array<() => string> = [];
    const start = async (): Promise<ServiceProcess> => {
      const svc = cleanup.process(
        startServiceProcess('services/sessionizer/main.ts', sessionizerProcessEnv({ prefix, groupId })),
      );
      outputs.push(() => svc.output());
      await waitForOutput(svc, 'health at');
      return svc;
    };
    const withOutput = (error: Error): never => {
      throw new Error(`${error.message}\n--- sessionizer output ---\n${outputs.map((o) => o().slice(-200_000)).join('\n---\n')}`);
    };
    const customers = 200;
    const perCustomer = 6;
    const t0 = Date.now() - 2 * MIN;
    const event = (c: number, i: number) =>
      tp({ messageId: `k-${c}-${i}`, userId: `crash-${c}`, anonymousId: null, timestamp: t0 + i * 5_000 });

    let svc = await start();
    // Stream in rounds; kill -9 the sessionizer twice in the middle of the stream, each time once it
    // has committed part of the round it was just sent (so it dies while working, not before).
    for (let i = 0; i < perCustomer; i++) {
      const committedBefore = await committedBy(kafka, sessionsGroup!);
      await produceTouchpoints(kafka, topics, Array.from({ length: customers }, (_, c) => event(c, i)));
      if (i === 2 || i === 4) {
        await eventually(() => committedBy(kafka, sessionsGroup!), (n) => n > committedBefore, 60_000, 50, 'sessionizer progress before the kill').catch(withOutput);
        svc.child.kill('SIGKILL');
        await svc.exited;
        svc = await start();
      }
    }
    const mine = (rows: SessionRowView[]) => rows.filter((r) => r.customer_id.startsWith('u:crash-'));
    const lastEventAt = t0 + (perCustomer - 1) * 5_000;
    await eventually(
      () => finalSessions(db.ch.client, db.database),
      (rows) => mine(rows).length >= customers && mine(rows).every((r) => r.ended_ms === lastEventAt),
      90_000,
      200,
      'every customer session has its last event',
    ).catch(withOutput);
    const touchpointCounts = async () => {
      const rs = await db.ch.client.query({
        query: `SELECT count() AS rows, uniqExact(message_id) AS distinct_ids FROM ${db.database}.touchpoints FINAL WHERE customer_id LIKE 'u:crash-%'`,
        format: 'JSONEachRow',
      });
      const [counts] = await rs.json<{ rows: number | string; distinct_ids: number | string }>();
      return { rows: Number(counts?.rows ?? 0), distinctIds: Number(counts?.distinct_ids ?? 0) };
    };
    // The writer flushes touchpoints and sessions in separate blocks: the sessions being complete
    // says nothing about the last touchpoint rows. Wait for every one of them, then for every group
    // to have committed all it was sent, and only then read the counts that are asserted.
    await eventually(touchpointCounts, (c) => c.distinctIds >= customers * perCustomer, 90_000, 200, 'every touchpoint row written').catch(withOutput);
    await waitForDrained(kafka, [router!, sessionsGroup!, writer.group]).catch(withOutput);

    // One session per customer, each with every event exactly once.
    const sessions = mine(await finalSessions(db.ch.client, db.database));
    expect(sessions).toHaveLength(customers);
    expect(new Set(sessions.map((r) => r.session_id)).size).toBe(customers);
    expect(sessions.filter((r) => r.event_count !== perCustomer)).toEqual([]);
    expect(await touchpointCounts()).toEqual({ rows: customers * perCustomer, distinctIds: customers * perCustomer });
    svc.child.kill('SIGTERM');
    await svc.exited;
  });
});
