import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SimulatedCall } from '../core/segment-call.js';
import { createHttpSender } from './http-sender.js';

const call = (i: number) => ({ call: { type: 'track', messageId: `m-${i}` }, writeKey: 'wk', source: 'web', site: 'shop', at: 0, sendAt: 0 }) as unknown as SimulatedCall;

/** Answers the sender's requests from a script of statuses (or 'down' for a refused connection). */
function collector(script: Array<number | 'down'>) {
  const fetch = vi.fn(async () => {
    const next = script.shift() ?? 200;
    if (next === 'down') throw new TypeError('fetch failed');
    return new Response(JSON.stringify({ success: next === 200, rejected: 0 }), { status: next, headers: next === 429 ? { 'retry-after': '3' } : {} });
  });
  vi.stubGlobal('fetch', fetch);
  return fetch;
}

afterEach(() => vi.unstubAllGlobals());

describe('HTTP sender', () => {
  it('retries 429, 503 and refused connections after Retry-After, as an SDK does', async () => {
    const fetch = collector([429, 'down', 503, 200]);
    const slept: number[] = [];
    const sender = createHttpSender({ collectorUrl: () => 'http://collector', batchSize: 10, concurrency: 1, maxRetries: 5, sleep: async (ms) => void slept.push(ms) });
    await sender.send([call(1), call(2)]);
    expect(fetch).toHaveBeenCalledTimes(4);
    expect(slept).toEqual([3_000, 1_000, 1_000]);
    expect(sender.stats()).toEqual({ sent: 2, requests: 4, retries: 3, rejected: 0 });
  });

  it('counts the calls rejected when the retries run out or the answer is a client error', async () => {
    collector([503, 503, 400]);
    const sender = createHttpSender({ collectorUrl: () => 'http://collector', batchSize: 1, concurrency: 1, maxRetries: 1, sleep: async () => {} });
    await sender.send([call(1), call(2)]);
    expect(sender.stats()).toEqual({ sent: 0, requests: 3, retries: 1, rejected: 2 });
  });
});
