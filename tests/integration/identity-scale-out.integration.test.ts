import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import pino from 'pino';
import type { Touchpoint } from '../../schemas/touchpoint.js';
import { IdentityGraph, linksFrom, primaryNode } from '../../services/sessionizer/core/identity.js';
import { openIdentityStoreLmdb } from '../../services/sessionizer/identity-store-lmdb.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { stopAfterEach } from '../support/cleanup.js';
import { committedBy, waitForDrained } from '../support/drain.js';
import { eventually } from '../support/eventually.js';
import { uniqueGroupId, uniquePrefix, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, testKafka } from '../support/pipeline.js';
import { finalSessions, produceTouchpoints, sessionizerGroups, sessionizerProcessEnv, testWriter, tp } from '../support/journey-fixtures.js';
import { startServiceProcess, waitForOutput, type ServiceProcess } from '../support/processes.js';

const PEOPLE = 60;
const MIN = 60_000;

/**
 * One person's touchpoints, in rounds: two devices (anonymous ids on different partitions, keyed
 * by the anonymous id), each identified under its own user id, then one device identified under
 * the other user id, which merges the two customers. Even people: the greater user id is linked
 * first and the merge goes through device A; odd people the other way round.
 */
function rounds(t0: number): Touchpoint[][] {
  const person = (i: number) => {
    const [first, second] = i % 2 === 0 ? ([`zz-${i}`, `aa-${i}`] as const) : ([`aa-${i}`, `zz-${i}`] as const);
    const at = (n: number) => t0 + n * MIN;
    const ev = (n: number, anonymousId: string, userId: string | null, type: Touchpoint['type'] = 'track') =>
      tp({ messageId: `so-${i}-${n}`, anonymousId, userId, type, event: type === 'identify' ? 'identify' : 'Product Viewed', timestamp: at(n) });
    return [
      [ev(0, `A-${i}`, null), ev(1, `B-${i}`, null)],
      [ev(2, `A-${i}`, first, 'identify'), ev(3, `B-${i}`, second, 'identify')],
      [i % 2 === 0 ? ev(4, `A-${i}`, second, 'identify') : ev(4, `B-${i}`, first, 'identify')],
      [ev(5, `A-${i}`, null), ev(6, `B-${i}`, null)],
      [ev(7, `B-${i}`, null), ev(8, `A-${i}`, null)],
    ];
  };
  const people = Array.from({ length: PEOPLE }, (_, i) => person(i));
  return people[0]!.map((_, r) => people.flatMap((p) => p[r]!));
}

describe('identity scale-out (lmdb identity store, two instances)', () => {
  let db: TestDatabase;
  let kafka: Kafka;
  const cleanup = stopAfterEach();
  const dataDirs = [mkdtempSync(join(tmpdir(), 'identity-a-')), mkdtempSync(join(tmpdir(), 'identity-b-'))];
  beforeAll(async () => {
    db = await freshDatabase('identity_scale_out');
    kafka = testKafka('identity-scale-out');
  });
  afterAll(async () => {
    await db.drop();
    for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
  });

  it('routes every touchpoint to the customer one graph of all links gives, across partitions, merges in both orders and a kill -9 of one instance', async () => {
    const prefix = uniquePrefix();
    const topics = uniqueTopics(prefix);
    await createTestTopics(kafka, topics, 4);
    const writer = cleanup.started(testWriter(kafka, topics, db.ch));
    await writer.start();
    const groupId = uniqueGroupId('identity-so');
    const [routerGroup, sessionsGroup] = sessionizerGroups(groupId, topics);
    const outputs: Array<() => string> = [];
    const start = async (n: 0 | 1): Promise<ServiceProcess> => {
      const svc = cleanup.process(
        startServiceProcess(
          'services/sessionizer/main.ts',
          sessionizerProcessEnv({ prefix, groupId }, { DATA_DIR: dataDirs[n]!, SESSIONIZER_IDENTITY_STORE: 'lmdb', SESSIONIZER_IDENTITY_CACHE_IDS: '1000', LOG_LEVEL: 'info' }),
        ),
      );
      outputs.push(() => svc.output());
      await waitForOutput(svc, 'health at');
      return svc;
    };
    const withOutput = (error: Error): never => {
      throw new Error(`${error.message}\n--- sessionizer output ---\n${outputs.map((o) => o().slice(-100_000)).join('\n---\n')}`);
    };
    const t0 = Date.now() - 30 * MIN;
    const input = rounds(t0);
    const all = input.flat();

    const instances = [await start(0), await start(1)];
    for (let r = 0; r < input.length; r++) {
      const committedBefore = await committedBy(kafka, routerGroup!);
      await produceTouchpoints(kafka, topics, input[r]!);
      if (r === 2) {
        // In the middle of the merges: instance 0 dies once the routers have made progress on them.
        await eventually(() => committedBy(kafka, routerGroup!), (n) => n > committedBefore, 60_000, 50, 'router progress before the kill').catch(withOutput);
        instances[0]!.child.kill('SIGKILL');
        await instances[0]!.exited;
        instances[0] = await start(0);
      }
    }

    // The reference: one graph of every link, as a single instance ends up with.
    const reference = new IdentityGraph();
    for (const t of all) for (const link of linksFrom(t)) reference.apply(link);
    const customerOf = (t: Touchpoint) => reference.resolve(primaryNode(t));
    const expected = new Map<string, number>();
    for (const t of all) expected.set(customerOf(t), (expected.get(customerOf(t)) ?? 0) + 1);
    expect(expected.size).toBe(PEOPLE);
    expect([...expected.keys()].every((id) => /^u:aa-\d+$/.test(id))).toBe(true);

    const mine = async () => (await finalSessions(db.ch.client, db.database)).filter((s) => /^[ua]:(aa|zz|A|B)-\d+$/.test(s.customer_id));
    await eventually(mine, (rows) => rows.reduce((n, r) => n + r.event_count, 0) >= all.length && rows.every((r) => expected.has(r.customer_id)), 180_000, 500, 'every event in its customer’s session').catch(withOutput);
    await waitForDrained(kafka, [routerGroup!, sessionsGroup!, writer.group], 120_000).catch(withOutput);

    // One session per person, under the reference's customer id, holding every event once.
    const sessions = await mine();
    expect(sessions.map((s) => [s.customer_id, s.event_count]).sort()).toEqual([...expected.entries()].sort());
    const rs = await db.ch.client.query({ query: `SELECT uniqExact(message_id) AS ids FROM ${db.database}.touchpoints FINAL WHERE message_id LIKE 'so-%'`, format: 'JSONEachRow' });
    const [counts] = await rs.json<{ ids: string | number }>();
    expect(Number(counts!.ids)).toBe(all.length);

    // The restarted instance went on from its store (only the topic's tail), not from the start.
    const restartLoad = /"fromLocal":"(\d+)"[^\n]*identity graph loaded/.exec(outputs[2]!());
    expect(Number(restartLoad?.[1] ?? 0)).toBeGreaterThan(0);

    for (const svc of instances) {
      svc.child.kill('SIGTERM');
      await svc.exited;
    }
    // Each instance's store holds the whole graph, up to the topic's end.
    const admin = kafka.admin();
    await admin.connect();
    const [end] = await admin.fetchTopicOffsets(topics.identityLinks).finally(() => admin.disconnect());
    for (const dir of dataDirs) {
      const store = openIdentityStoreLmdb({ path: join(dir, 'state', `${topics.identityLinks}.lmdb`), topic: topics.identityLinks, cacheIds: 1_000, logger: pino({ level: 'silent' }) });
      try {
        expect(store.appliedOffset + 1n).toBe(BigInt(end!.high));
        const graph = new IdentityGraph(store.parents);
        for (const t of all) expect(graph.resolve(primaryNode(t))).toBe(customerOf(t));
      } finally {
        await store.close();
      }
    }
  }, 420_000);
});
