import { mapLimited } from '../../platform/concurrency/map-limited.js';
import { retry, sleepMs } from '../../platform/retry/retry.js';
import type { SimulatedCall } from '../core/segment-call.js';
import { batchesByWriteKey, type CallSender } from './call-sender.js';

/** A 429 or 503 (or no connection): the collector asks to try again after Retry-After seconds. */
class RetryLater extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`retry after ${retryAfterSeconds} s`);
  }
}

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
  const sleep = options.sleep ?? sleepMs;
  const counters = { sent: 0, requests: 0, retries: 0, rejected: 0 };

  const post = async (writeKey: string, calls: SimulatedCall[]) => {
    const body = JSON.stringify({ batch: calls.map((c) => c.call), sentAt: new Date().toISOString() });
    const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
    try {
      await retry(
        async () => {
          counters.requests++;
          let res: Response;
          try {
            res = await fetch(`${options.collectorUrl()}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body });
          } catch {
            throw new RetryLater(1); // connection refused or reset: retry like a 503
          }
          const answer = (await res.json().catch(() => ({}))) as { rejected?: number };
          if (res.status === 429 || res.status === 503) throw new RetryLater(Number(res.headers.get('retry-after') ?? '1') || 1);
          if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
          counters.sent += calls.length - (answer.rejected ?? 0);
          counters.rejected += answer.rejected ?? 0;
        },
        {
          delayMs: ({ attempt, error }) => {
            if (!(error instanceof RetryLater) || attempt >= options.maxRetries) return null;
            counters.retries++;
            return Math.min(30, error.retryAfterSeconds) * 1000;
          },
          sleep,
        },
      );
    } catch {
      counters.rejected += calls.length;
    }
  };

  return {
    async send(calls) {
      await mapLimited(batchesByWriteKey(calls, options.batchSize), options.concurrency, (b) => post(b.writeKey, b.calls));
    },
    stats: () => ({ ...counters }),
  };
}
