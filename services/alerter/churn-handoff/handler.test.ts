import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { ChurnScore } from '../../../schemas/journey.js';
import { topicCodecs } from '../../../schemas/topics.js';
import { fakeClock } from '../../../tests/support/fake-clock.js';
import type { CommitPoint, PartitionControl } from '../../platform/kafka/consumer.js';
import type { OutgoingRecord } from '../../platform/kafka/producer.js';
import { createLogger } from '../../platform/logging/logger.js';
import type { PostWebhook } from '../webhook-queue.js';
import type { ChurnHandoffBody } from './body.js';
import { createChurnHandoffHandler, type ChurnHandoffHandlerOptions } from './handler.js';

const TOPIC = 'churn-alerts';
const TP = { topic: TOPIC, partition: 0 };
const codec = topicCodecs.churnAlerts();

const score = (customerId: string, at: number): ChurnScore => ({
  customerId,
  at,
  score: 0.75,
  pAlive: 0.3,
  reasons: ['cart abandoned'],
  nextAction: 'cart reminder',
  stage: 'consideration',
  crossedThreshold: true,
});

const message = (offset: number, value: Buffer | null): KafkaMessage =>
  ({ offset: String(offset), key: null, value, timestamp: '0', attributes: 0, headers: {} }) as KafkaMessage;
const batchOf = (messages: KafkaMessage[]) => ({ topic: TOPIC, partition: 0, messages, highWatermark: String(Number(messages.at(-1)?.offset ?? -1) + 1) });

/** A receiver answering each call with the next scripted status ('down' throws, 'hold' waits for release()). */
function receiver(script: Array<number | 'down' | 'hold'>, fallback: number | 'down' = 200) {
  const received: ChurnHandoffBody[] = [];
  const held: Array<() => void> = [];
  const post: PostWebhook = async (body) => {
    received.push(JSON.parse(body) as ChurnHandoffBody);
    const answer = script.shift() ?? fallback;
    if (answer === 'hold') {
      await new Promise<void>((resolve) => held.push(resolve));
      return { status: 200 };
    }
    if (answer === 'down') throw new Error('connect ECONNREFUSED');
    return { status: answer };
  };
  return { post, received, inFlight: () => held.length, release: () => held.shift()?.() };
}

function setup(post: PostWebhook, options: Partial<ChurnHandoffHandlerOptions> = {}) {
  const clock = fakeClock();
  const deadLetters: OutgoingRecord[] = [];
  const counts = { sent: 0, retried: 0, failed: [] as string[] };
  const progressed: CommitPoint[] = [];
  const control: PartitionControl = {
    heartbeat: async () => {},
    commit: async () => {},
    progress: async (point) => void progressed.push(point),
  };
  const handler = createChurnHandoffHandler({
    post,
    codec,
    maxQueue: 100,
    maxAttempts: 4,
    baseDelayMs: 1_000,
    maxDelayMs: 8_000,
    timeoutMs: 5_000,
    sleep: clock.sleep,
    random: () => 0.5,
    now: clock.now,
    deadLetterTopic: 'dead-letter',
    sendDeadLetters: async (records) => void deadLetters.push(...records),
    counters: { sent: () => counts.sent++, retried: (n) => (counts.retried += n), failed: (r) => counts.failed.push(r) },
    logger: createLogger('test', 'silent'),
    ...options,
  });
  return { handler, clock, deadLetters, counts, progressed, control };
}

describe('churn hand-off handler', () => {
  it('posts each churn alert in partition order and commits past it once the receiver accepted it', async () => {
    const r = receiver([]);
    const { handler, clock, control, counts } = setup(r.post);
    await handler.onAssigned!(TP, { offset: '-1', metadata: null });
    const scores = [score('a', 1), score('b', 2), score('a', 3)];
    await handler.handleBatch(batchOf(scores.map((s, i) => message(i, codec.encode(s)))), control);
    await clock.settle();
    await handler.idle();
    expect(r.received.map((b) => [b.customerId, b.at, b.idempotencyKey])).toEqual([
      ['a', 1, 'churn:a:1'],
      ['b', 2, 'churn:b:2'],
      ['a', 3, 'churn:a:3'],
    ]);
    expect(await handler.onIdle!(TP, control)).toEqual({ offset: '3' });
    expect(await handler.onIdle!(TP, control)).toBeNull(); // nothing new to commit
    expect(counts).toEqual({ sent: 3, retried: 0, failed: [] });
  });

  it('retries a failing receiver with backoff and does not commit past the record until it is accepted', async () => {
    const r = receiver([503, 'down']);
    const { handler, clock, control, counts } = setup(r.post);
    await handler.onAssigned!(TP, { offset: '-1', metadata: null });
    expect(await handler.handleBatch(batchOf([message(0, codec.encode(score('a', 1))), message(1, codec.encode(score('b', 1)))]), control)).toBeNull();
    await clock.settle();
    expect(r.received).toHaveLength(1);
    expect(clock.sleeping()).toEqual([750]); // first retry: half of 1 s plus half the jitter
    expect(await handler.onIdle!(TP, control)).toBeNull();
    await clock.advance(750);
    expect(r.received).toHaveLength(2);
    expect(await handler.onIdle!(TP, control)).toBeNull();
    await clock.advance(1_500);
    await handler.idle();
    expect(r.received.map((b) => b.customerId)).toEqual(['a', 'a', 'a', 'b']);
    expect(await handler.onIdle!(TP, control)).toEqual({ offset: '2' });
    expect(counts).toEqual({ sent: 2, retried: 2, failed: [] });
  });

  it('dead-letters a record after its last attempt, or at once when the receiver rejects it, and commits past it', async () => {
    const r = receiver([503, 503, 422]);
    const { handler, clock, control, counts, deadLetters } = setup(r.post, { maxAttempts: 2 });
    await handler.onAssigned!(TP, { offset: '-1', metadata: null });
    const first = codec.encode(score('a', 1));
    await handler.handleBatch(batchOf([message(7, first), message(8, codec.encode(score('b', 2))), message(9, codec.encode(score('c', 3)))]), control);
    await clock.settle();
    await clock.advance(750);
    await handler.idle();
    expect(r.received.map((b) => b.customerId)).toEqual(['a', 'a', 'b', 'c']);
    expect(counts).toEqual({ sent: 1, retried: 1, failed: ['gave-up', 'rejected'] });
    expect(deadLetters.map((d) => d.key)).toEqual([`${TOPIC}:7`, `${TOPIC}:8`]);
    const dead = topicCodecs.deadLetter().decode(deadLetters[0]!.value!);
    expect(dead).toMatchObject({ sourceTopic: TOPIC, stage: 'churn-handoff', reason: 'churn webhook gave up after 2 attempts', payload: first.toString('base64') });
    expect(await handler.onIdle!(TP, control)).toEqual({ offset: '10' });
  });

  it('dead-letters an undecodable record without posting it', async () => {
    const r = receiver([]);
    const { handler, control, counts, deadLetters } = setup(r.post);
    await handler.onAssigned!(TP, { offset: '-1', metadata: null });
    await handler.handleBatch(batchOf([message(0, Buffer.from('not avro')), message(1, null), message(2, codec.encode(score('a', 1)))]), control);
    await handler.idle();
    expect(r.received.map((b) => b.customerId)).toEqual(['a']);
    expect(counts.failed).toEqual(['undecodable', 'undecodable']);
    expect(deadLetters).toHaveLength(2);
    expect(await handler.onIdle!(TP, control)).toEqual({ offset: '3' });
  });

  it('holds the batch back while the queue is full, drops nothing, and commits what settles meanwhile', async () => {
    const r = receiver(['hold', 'hold', 'hold', 'hold', 'hold']);
    const { handler, clock, control, progressed } = setup(r.post, { maxQueue: 2 });
    await handler.onAssigned!(TP, { offset: '-1', metadata: null });
    let done = false;
    const handled = handler
      .handleBatch(batchOf([0, 1, 2, 3, 4].map((i) => message(i, codec.encode(score(`c${i}`, i))))), control)
      .then((point) => {
        done = true;
        return point;
      });
    await clock.settle();
    expect(handler.backlog()).toBe(2);
    expect(done).toBe(false);
    expect(handler.waitingForRoom()).toBe(true);
    for (let i = 0; i < 3; i++) {
      r.release();
      await clock.settle();
      expect(handler.backlog()).toBeLessThanOrEqual(2);
    }
    // Each delivery that made room was committed through progress() while the batch waited.
    expect(await handled).toBeNull();
    expect(handler.waitingForRoom()).toBe(false);
    expect(progressed).toEqual([{ offset: '1' }, { offset: '2' }, { offset: '3' }]);
    r.release();
    await clock.settle();
    r.release();
    await handler.idle();
    expect(r.received.map((b) => b.customerId)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    expect(await handler.onIdle!(TP, control)).toEqual({ offset: '5' });
  });

  it('leaves what a stop could not deliver uncommitted, so a restart reads it again', async () => {
    const r = receiver([200], 'down');
    const { handler, clock, control, deadLetters } = setup(r.post);
    await handler.onAssigned!(TP, { offset: '-1', metadata: null });
    await handler.handleBatch(batchOf([0, 1, 2].map((i) => message(i, codec.encode(score(`c${i}`, i))))), control);
    await clock.settle();
    const stopped = handler.stopDelivering(5_000);
    await clock.advance(5_000);
    await stopped;
    expect(deadLetters).toEqual([]);
    // c1's retry is cut short by the stop and tried once more; c2 is still waiting when the grace ends.
    expect(r.received.map((b) => b.customerId)).toEqual(['c0', 'c1', 'c1']);
    expect(handler.backlog()).toBe(0);
    expect(await handler.onIdle!(TP, control)).toEqual({ offset: '1' });
  });

  it('skips records of a batch read again, and a revoked partition settles only its own ledger', async () => {
    const r = receiver(['hold']);
    const { handler, clock, control } = setup(r.post);
    await handler.onAssigned!(TP, { offset: '-1', metadata: null });
    const batch = batchOf([message(0, codec.encode(score('a', 1)))]);
    await handler.handleBatch(batch, control);
    await handler.handleBatch(batch, control);
    await clock.settle();
    expect(handler.backlog()).toBe(1);
    await handler.onRevoked!(TP);
    await handler.onAssigned!(TP, { offset: '-1', metadata: null });
    r.release();
    await handler.idle();
    // The delivery was settled in the revoked assignment's ledger: the new one has nothing to commit.
    expect(await handler.onIdle!(TP, control)).toBeNull();
    expect(r.received).toHaveLength(1);
  });
});
