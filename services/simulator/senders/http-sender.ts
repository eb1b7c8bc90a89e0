import { mapLimited } from '../../platform/concurrency/map-limited.js';
import type { SimulatedCall } from '../core/segment-call.js';
import { batchesByWriteKey, type CallSender } from './call-sender.js';

export interface HttpSenderOptions {
  collectorUrl: () => string;
  batchSize: number;
  /** Requests in flight at once (an SDK fleet, not one client). */
  concurrency: number;
  maxRetries: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Posts `/v1/batch` requests with the write key as the Basic-auth username, as Segment SDKs do;
 * 429/503 are retried after Retry-After, like an SDK keeping its queue.
 */
export function createHttpSender(options: HttpSenderOptions): CallSender {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const counters = { sent: 0, requests: 0, retries: 0, rejected: 0 };

  const post = async (writeKey: string, calls: SimulatedCall[]) => {
    const body = JSON.stringify({ batch: calls.map((c) => c.call), sentAt: new Date().toISOString() });
    const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
    for (let attempt = 0; ; attempt++) {
      counters.requests++;
      let status = 0;
      let retryAfter = 1;
      try {
        const res = await fetch(`${options.collectorUrl()}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body });
        status = res.status;
        retryAfter = Number(res.headers.get('retry-after') ?? '1') || 1;
        const answer = (await res.json().catch(() => ({}))) as { rejected?: number };
        if (status === 200) {
          counters.sent += calls.length - (answer.rejected ?? 0);
          counters.rejected += answer.rejected ?? 0;
          return;
        }
      } catch {
        status = 0; // connection refused or reset: retry like a 503
      }
      if ((status !== 0 && status !== 429 && status !== 503) || attempt >= options.maxRetries) {
        counters.rejected += calls.length;
        return;
      }
      counters.retries++;
      await sleep(Math.min(30, retryAfter) * 1000);
    }
  };

  return {
    async send(calls) {
      await mapLimited(batchesByWriteKey(calls, options.batchSize), options.concurrency, (b) => post(b.writeKey, b.calls));
    },
    stats: () => ({ ...counters }),
  };
}
