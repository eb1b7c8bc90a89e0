import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { ChurnScore } from '../../schemas/journey.js';
import { topicCodecs } from '../../schemas/topics.js';
import type { ChurnHandoffBody } from '../../services/alerter/churn-handoff/body.js';
import { createChurnHandoff, type ChurnHandoff } from '../../services/alerter/churn-handoff/component.js';
import { partitionOfKey } from '../../services/platform/kafka/partition-of-key.js';
import { createKafkaProducer } from '../../services/platform/kafka/producer.js';
import { eventually } from '../support/eventually.js';
import { uniqueGroupId, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, freshRegistry, testKafka, testLogger } from '../support/pipeline.js';

/**
 * A CRM stand-in: records every POST; answers 503 to a key's first `failFirst.get(key)` attempts,
 * and to everything while `down` is set. `accepted` holds what it answered 2xx to, in order.
 */
function startReceiver() {
  const attempts: ChurnHandoffBody[] = [];
  const accepted: ChurnHandoffBody[] = [];
  const failFirst = new Map<string, number>();
  const state = { down: false };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      const body = JSON.parse(text) as ChurnHandoffBody;
      attempts.push(body);
      const failures = failFirst.get(body.idempotencyKey) ?? 0;
      if (state.down || failures > 0) {
        failFirst.set(body.idempotencyKey, failures - 1);
        res.writeHead(503).end();
        return;
      }
      accepted.push(body);
      res.writeHead(204).end();
    });
  });
  return {
    attempts,
    accepted,
    failFirst,
    state,
    listening: new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/churn`))),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const score = (customerId: string, at: number): ChurnScore => ({
  customerId,
  at,
  score: 0.8,
  pAlive: 0.25,
  reasons: ['support complaint'],
  nextAction: 'service-recovery outreach',
  stage: 'retention',
  crossedThreshold: true,
});

/** Keys on both partitions of a 2-partition topic (asserted below with the producer's partitioner). */
const CUSTOMERS = ['ann', 'bob', 'cid', 'kim', 'lou', 'max'];
const T0 = Date.UTC(2025, 5, 1);

describe('churn hand-off (churn-alerts → webhook) on a real broker', () => {
  it('delivers each churn alert once and in order per customer, retries a failing receiver, and never commits past an undelivered alert', async () => {
    const kafka = testKafka('churn-handoff-test');
    const topics = uniqueTopics();
    await createTestTopics(kafka, topics, 2);
    const groupId = uniqueGroupId('churn-handoff');
    const codec = topicCodecs.churnAlerts();
    const receiver = startReceiver();
    const url = await receiver.listening;
    const producer = createKafkaProducer(kafka, { name: 'churn-alerts-test' });
    const admin = kafka.admin();
    const handoff = (): ChurnHandoff =>
      createChurnHandoff({
        kafka,
        topics,
        url,
        maxQueue: 4,
        maxAttempts: 50,
        timeoutMs: 5_000,
        baseDelayMs: 20,
        maxDelayMs: 100,
        stopGraceMs: 200,
        groupId,
        registry: freshRegistry(),
        logger: testLogger('churn-handoff'),
      });
    let running: ChurnHandoff | null = null;
    /** The group's committed offset of each churn-alerts partition (none yet reads as 0). */
    const committed = async (): Promise<Record<number, string>> => {
      const [topic] = await admin.fetchOffsets({ groupId, topics: [topics.churnAlerts] });
      return Object.fromEntries((topic?.partitions ?? []).map((p) => [p.partition, p.offset === '-1' ? '0' : p.offset]));
    };
    const ends = async (): Promise<Record<number, string>> =>
      Object.fromEntries((await admin.fetchTopicOffsets(topics.churnAlerts)).map((p) => [p.partition, p.high]));
    try {
      await producer.start();
      await admin.connect();
      expect(new Set(CUSTOMERS.map((c) => partitionOfKey(topics.churnAlerts, c, 2)))).toEqual(new Set([0, 1]));
      // Four crossings per customer, in event-time order; the receiver refuses bob's second twice.
      const sent = Array.from({ length: 4 }, (_, round) => CUSTOMERS.map((c) => score(c, T0 + round * 60_000))).flat();
      receiver.failFirst.set(`churn:bob:${T0 + 60_000}`, 2);
      await producer.send(sent.map((s) => ({ topic: topics.churnAlerts, key: s.customerId, value: codec.encode(s) })));

      running = handoff();
      await running.start();
      await eventually(() => receiver.accepted.length, (n) => n >= sent.length, 60_000, 100, 'every churn alert accepted');
      const keys = receiver.accepted.map((b) => b.idempotencyKey);
      expect(new Set(keys).size).toBe(sent.length);
      expect(keys).toHaveLength(sent.length);
      for (const c of CUSTOMERS) {
        expect(receiver.accepted.filter((b) => b.customerId === c).map((b) => b.at)).toEqual([0, 1, 2, 3].map((r) => T0 + r * 60_000));
      }
      // bob's second alert: refused twice, accepted on the third attempt.
      expect(receiver.attempts.filter((b) => b.idempotencyKey === `churn:bob:${T0 + 60_000}`)).toHaveLength(3);
      expect(receiver.accepted.find((b) => b.idempotencyKey === `churn:bob:${T0 + 60_000}`)).toMatchObject({
        customerId: 'bob',
        score: 0.8,
        reasons: ['support complaint'],
        nextAction: 'service-recovery outreach',
        stage: 'retention',
      });
      const endsBefore = await ends();
      await eventually(committed, (c) => JSON.stringify(c) === JSON.stringify(endsBefore), 30_000, 100, 'offsets committed up to the end');

      // The receiver goes down: a new alert is attempted, the hand-off stops, and its offset is not committed.
      receiver.state.down = true;
      const late = score('cid', T0 + 10 * 60_000);
      await producer.send([{ topic: topics.churnAlerts, key: late.customerId, value: codec.encode(late) }]);
      await eventually(() => receiver.attempts.filter((b) => b.idempotencyKey === `churn:cid:${late.at}`).length, (n) => n >= 2, 30_000, 50, 'the late alert attempted');
      await running.stop();
      running = null;
      const endsAfter = await ends();
      const afterStop = await committed();
      const latePartition = Object.keys(endsAfter).map(Number).find((p) => endsAfter[p] !== endsBefore[p])!;
      expect(afterStop[latePartition]).toBe(endsBefore[latePartition]); // not past the undelivered alert
      expect(receiver.accepted).toHaveLength(sent.length);

      // A restart with the receiver back delivers it, once, and commits past it.
      receiver.state.down = false;
      running = handoff();
      await running.start();
      await eventually(() => receiver.accepted.length, (n) => n >= sent.length + 1, 60_000, 100, 'the late alert delivered after the restart');
      await eventually(committed, (c) => JSON.stringify(c) === JSON.stringify(endsAfter), 30_000, 100, 'offsets committed past the late alert');
      expect(receiver.accepted.slice(sent.length).map((b) => b.idempotencyKey)).toEqual([`churn:cid:${late.at}`]);
      expect(receiver.accepted).toHaveLength(sent.length + 1);
    } finally {
      await running?.stop();
      await producer.stop();
      await admin.disconnect();
      await receiver.close();
    }
  }, 180_000);
});
