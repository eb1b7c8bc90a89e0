import { describe, expect, it } from 'vitest';
import { fakeClock } from '../../tests/support/fake-clock.js';
import { createLogger } from '../platform/logging/logger.js';
import { createWebhookQueue, isRetriableStatus, type DropReason, type PostWebhook, type WebhookQueueOptions } from './webhook-queue.js';

/** A fake receiver answering each call with the next scripted status (or throwing for 'down'). */
function fakeReceiver(script: Array<number | 'down'>, fallback: number | 'down' = 200) {
  const calls: string[] = [];
  const post: PostWebhook = async (body) => {
    calls.push(JSON.parse(body).id as string);
    const answer = script.shift() ?? fallback;
    if (answer === 'down') throw new Error('connect ECONNREFUSED');
    return { status: answer };
  };
  return { post, calls };
}

function setup(post: PostWebhook, options: Partial<WebhookQueueOptions> = {}) {
  const clock = fakeClock();
  const dropped: Array<[string, DropReason]> = [];
  const delivered: Array<[string, number]> = [];
  const failures: string[] = [];
  const queue = createWebhookQueue({
    post,
    maxQueue: 10,
    maxAttempts: 5,
    baseDelayMs: 1_000,
    maxDelayMs: 8_000,
    timeoutMs: 60_000,
    sleep: clock.sleep,
    random: () => 1, // the top of the jitter range: each wait is the whole ceiling
    logger: createLogger('test', 'silent'),
    hooks: {
      delivered: (d, attempts) => delivered.push([d.id, attempts]),
      failed: (_d, reason) => failures.push(reason),
      dropped: (d, reason) => dropped.push([d.id, reason]),
    },
    ...options,
  });
  const send = (id: string) => queue.enqueue({ id, body: JSON.stringify({ id }) });
  return { clock, queue, send, dropped, delivered, failures };
}

describe('webhook retry queue', () => {
  it('jitters the backoff: a wait is between half its ceiling and all of it', async () => {
    for (const [random, wait] of [[0, 500], [0.5, 750]] as const) {
      const { send, clock } = setup(fakeReceiver([503]).post, { random: () => random });
      send('a:firing');
      await clock.settle();
      expect(clock.sleeping()).toEqual([wait]);
    }
  });

  it('retries 408, 429 and 5xx but not other client errors', () => {
    expect([408, 429, 500, 503].map(isRetriableStatus)).toEqual([true, true, true, true]);
    expect([400, 401, 404, 413].map(isRetriableStatus)).toEqual([false, false, false, false]);
  });

  it('delivers in order, one at a time, without the caller waiting', async () => {
    const receiver = fakeReceiver([]);
    const { queue, send, delivered, clock } = setup(receiver.post);
    send('a:firing');
    send('a:resolved');
    expect(queue.size()).toBe(2);
    await clock.settle();
    await queue.idle();
    expect(receiver.calls).toEqual(['a:firing', 'a:resolved']);
    expect(delivered).toEqual([['a:firing', 1], ['a:resolved', 1]]);
    expect(queue.size()).toBe(0);
  });

  it('retries a failing receiver with capped exponential backoff and keeps later alerts behind the first', async () => {
    const receiver = fakeReceiver([503, 'down', 500]);
    const { send, delivered, failures, clock } = setup(receiver.post);
    send('a:firing');
    send('b:firing');
    await clock.settle();
    expect(receiver.calls).toEqual(['a:firing']);
    expect(clock.sleeping()).toEqual([1_000]);
    await clock.advance(999);
    expect(receiver.calls).toHaveLength(1);
    await clock.advance(1);
    expect(receiver.calls).toEqual(['a:firing', 'a:firing']);
    expect(clock.sleeping()).toEqual([2_000]);
    await clock.advance(2_000);
    expect(clock.sleeping()).toEqual([4_000]);
    await clock.advance(4_000);
    expect(receiver.calls).toEqual(['a:firing', 'a:firing', 'a:firing', 'a:firing', 'b:firing']);
    expect(delivered).toEqual([['a:firing', 4], ['b:firing', 1]]);
    expect(failures).toEqual(['HTTP 503', 'connect ECONNREFUSED', 'HTTP 500']);
  });

  it('gives a delivery up after maxAttempts and moves on', async () => {
    const receiver = fakeReceiver(['down', 'down', 'down', 'down', 'down']);
    const { send, dropped, delivered, clock } = setup(receiver.post);
    send('a:firing');
    send('b:firing');
    for (let i = 0; i < 10; i++) await clock.advance(8_000);
    expect(dropped).toEqual([['a:firing', 'gave-up']]);
    expect(receiver.calls.filter((c) => c === 'a:firing')).toHaveLength(5);
    expect(delivered).toEqual([['b:firing', 1]]);
  });

  it('drops a delivery the receiver rejects with a client error without retrying', async () => {
    const receiver = fakeReceiver([400]);
    const { send, dropped, delivered, clock, queue } = setup(receiver.post);
    send('a:firing');
    send('b:firing');
    await clock.settle();
    await queue.idle();
    expect(dropped).toEqual([['a:firing', 'rejected']]);
    expect(delivered).toEqual([['b:firing', 1]]);
  });

  it('drops the oldest waiting delivery when full, never the one in flight, and never blocks', async () => {
    const receiver = fakeReceiver([], 'down');
    const { send, dropped, queue, clock } = setup(receiver.post, { maxQueue: 3 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) send(id);
    await clock.settle();
    expect(queue.size()).toBe(3);
    expect(dropped).toEqual([['b', 'overflow'], ['c', 'overflow']]);
    expect(receiver.calls.every((c) => c === 'a')).toBe(true);
  });

  it('on stop gives queued deliveries one attempt each, without retries, then drops the rest', async () => {
    const receiver = fakeReceiver(['down', 'down', 200, 'down']);
    const { send, dropped, delivered, queue, clock } = setup(receiver.post);
    send('a');
    send('b');
    send('c');
    await clock.settle();
    expect(receiver.calls).toEqual(['a']);
    await queue.stop(1_000);
    expect(receiver.calls).toEqual(['a', 'a', 'b', 'c']);
    expect(delivered).toEqual([['b', 1]]);
    expect(dropped).toEqual([['a', 'shutdown'], ['c', 'shutdown']]);
    send('d');
    expect(dropped.at(-1)).toEqual(['d', 'shutdown']);
  });

  it('stops within the grace period even when the receiver never answers and the HTTP call ignores its signal', async () => {
    const hanging: PostWebhook = () => new Promise(() => {});
    const { send, dropped, queue, clock } = setup(hanging);
    send('a');
    send('b');
    await clock.settle();
    let stopped = false;
    const stopping = queue.stop(50).then(() => (stopped = true));
    await clock.settle();
    // Within the grace, 'a' may still be answered: nothing is dropped yet.
    await clock.advance(49);
    expect(stopped).toBe(false);
    expect(dropped).toEqual([]);
    // The grace is over: the hanging request is abandoned, however long it would have hung.
    await clock.advance(1);
    await stopping;
    expect(stopped).toBe(true);
    expect(dropped).toEqual([['b', 'shutdown'], ['a', 'shutdown']]);
    expect(queue.size()).toBe(0);
    expect(clock.sleeping()).toEqual([]);
  });

  it('times out an attempt that takes longer than timeoutMs and retries it', async () => {
    let calls = 0;
    const slowOnce: PostWebhook = () => (++calls === 1 ? new Promise(() => {}) : Promise.resolve({ status: 204 }));
    const { send, delivered, failures, clock, queue } = setup(slowOnce, { timeoutMs: 20 });
    send('a');
    await clock.settle();
    expect(clock.sleeping()).toEqual([20]); // the attempt's timeout
    await clock.advance(19);
    expect(failures).toEqual([]);
    await clock.advance(1);
    expect(failures).toEqual(['timed out after 20 ms']);
    expect(clock.sleeping()).toEqual([1_000]); // the backoff before the retry
    await clock.advance(1_000);
    await queue.idle();
    expect(delivered).toEqual([['a', 2]]);
    expect(clock.sleeping()).toEqual([]); // a finished attempt leaves no timeout behind
  });
});
