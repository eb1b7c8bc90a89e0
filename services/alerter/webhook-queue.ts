import type { Logger } from '../platform/logging/logger.js';
import { backoffMs } from '../platform/retry/backoff.js';
import { retry } from '../platform/retry/retry.js';

/**
 * Webhook delivery that never blocks detection: `enqueue` is synchronous and bounded, and one
 * background loop delivers in order (a resolution never overtakes its firing), retrying a failed
 * delivery with capped exponential backoff and jitter. When the queue is full the OLDEST waiting delivery is
 * dropped (counted and logged): every alert is also on the alerts topic and in ClickHouse, and
 * the newest news is the most useful to a pager.
 */

/** One HTTP POST of a JSON body; resolves with the status, rejects on network errors and timeouts. */
export type PostWebhook = (body: string, signal: AbortSignal) => Promise<{ status: number }>;

export interface WebhookDelivery {
  /** For logs and metrics only, e.g. `alert-…:firing`. */
  readonly id: string;
  readonly body: string;
}

export type DropReason = 'overflow' | 'gave-up' | 'rejected' | 'shutdown';

export interface WebhookQueueHooks {
  delivered?(delivery: WebhookDelivery, attempts: number): void;
  /** Every failed attempt, retried or not. */
  failed?(delivery: WebhookDelivery, reason: string): void;
  dropped?(delivery: WebhookDelivery, reason: DropReason): void;
}

export interface WebhookQueueOptions {
  readonly post: PostWebhook;
  readonly maxQueue: number;
  /** Attempts per delivery (the first included) before it is given up. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly timeoutMs: number;
  /**
   * Resolves after `ms`, or as soon as `signal` aborts. Every wait of the queue goes through it
   * (retry backoff, the attempt timeout, the stop grace), so tests drive time by hand.
   */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** In [0, 1): the jitter of the backoff (injected so tests are exact). */
  readonly random: () => number;
  readonly logger: Logger;
  readonly hooks?: WebhookQueueHooks;
}

export interface WebhookQueue {
  enqueue(delivery: WebhookDelivery): void;
  /** Waiting deliveries, including the one in flight. */
  size(): number;
  /** Resolves when nothing is queued or in flight (tests; never awaited by detection). */
  idle(): Promise<void>;
  /**
   * Stops retrying, gives what is queued one last attempt each within `graceMs`, then aborts what
   * is still in flight. Undelivered alerts are only logged: they are on the topic and in ClickHouse.
   */
  stop(graceMs: number): Promise<void>;
}

/** 408, 429 and 5xx are worth retrying; any other non-2xx means the receiver rejects the body. */
export const isRetriableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500;

type Outcome = { ok: true } | { ok: false; retriable: boolean; reason: string };

/** A failed attempt, as the retry loop sees it. */
class AttemptFailed extends Error {
  constructor(readonly retriable: boolean, reason: string) {
    super(reason);
  }
}

/** A delivery that is given up, and why. */
class Undeliverable extends Error {
  constructor(readonly reason: DropReason) {
    super(reason);
  }
}

export function createWebhookQueue(options: WebhookQueueOptions): WebhookQueue {
  const { post, maxQueue, maxAttempts, baseDelayMs, maxDelayMs, timeoutMs, sleep, random, logger, hooks } = options;
  const pending: WebhookDelivery[] = [];
  let inFlight: WebhookDelivery | null = null;
  let draining: Promise<void> | null = null;
  let stopping = false;
  /** Wakes retry sleeps at stop; a separate controller aborts requests once the grace is over. */
  const wake = new AbortController();
  const hardStop = new AbortController();

  const drop = (delivery: WebhookDelivery, reason: DropReason) => {
    hooks?.dropped?.(delivery, reason);
    logger.warn({ delivery: delivery.id, reason }, 'webhook delivery dropped');
  };

  /** Aborts the returned signal after `ms` (on the injected clock) unless `cancel` aborts first. */
  const timeoutSignal = (ms: number, cancel: AbortSignal): AbortSignal => {
    const timeout = new AbortController();
    void sleep(ms, cancel).then(() => {
      if (!cancel.aborted) timeout.abort();
    });
    return timeout.signal;
  };

  const attempt = async (delivery: WebhookDelivery): Promise<Outcome> => {
    const finished = new AbortController();
    const signal = AbortSignal.any([hardStop.signal, timeoutSignal(timeoutMs, finished.signal)]);
    // The race makes the timeout and the stop hold even if `post` ignores its signal.
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new Error(hardStop.signal.aborted ? 'aborted at shutdown' : `timed out after ${timeoutMs} ms`));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const { status } = await Promise.race([post(delivery.body, signal), aborted]);
      if (status >= 200 && status < 300) return { ok: true };
      return { ok: false, retriable: isRetriableStatus(status), reason: `HTTP ${status}` };
    } catch (error) {
      return { ok: false, retriable: true, reason: error instanceof Error ? error.message : String(error) };
    } finally {
      signal.removeEventListener('abort', onAbort);
      finished.abort(); // ends the timeout's sleep
    }
  };

  /** One delivery, retried with capped exponential backoff (equal jitter) until it is delivered or given up. */
  const deliver = (delivery: WebhookDelivery): Promise<void> =>
    retry(
      async (n) => {
        if (hardStop.signal.aborted) throw new Undeliverable('shutdown');
        const outcome = await attempt(delivery);
        if (outcome.ok) {
          hooks?.delivered?.(delivery, n + 1);
          return;
        }
        hooks?.failed?.(delivery, outcome.reason);
        throw new AttemptFailed(outcome.retriable, outcome.reason);
      },
      {
        delayMs: ({ attempt: n, error }) => {
          if (!(error instanceof AttemptFailed)) return null;
          if (!error.retriable) throw new Undeliverable('rejected');
          if (n + 1 >= maxAttempts || stopping) throw new Undeliverable(stopping ? 'shutdown' : 'gave-up');
          const delayMs = backoffMs(n, { baseMs: baseDelayMs, capMs: maxDelayMs }, random);
          logger.info({ delivery: delivery.id, attempts: n + 1, delayMs, reason: error.message }, 'webhook delivery failed; retrying');
          return delayMs;
        },
        sleep: (ms) => sleep(ms, wake.signal),
      },
    );

  const drain = async () => {
    while (pending.length > 0) {
      const delivery = pending.shift()!;
      inFlight = delivery;
      try {
        await deliver(delivery);
      } catch (error) {
        if (!(error instanceof Undeliverable)) throw error;
        drop(delivery, error.reason);
      }
      inFlight = null;
    }
  };

  const ensureDraining = () => {
    draining ??= drain()
      .catch((error: unknown) => logger.error({ err: error }, 'webhook delivery loop failed'))
      .finally(() => {
        draining = null;
        inFlight = null;
        if (pending.length > 0 && !hardStop.signal.aborted) ensureDraining();
      });
  };

  return {
    enqueue(delivery) {
      if (hardStop.signal.aborted) {
        drop(delivery, 'shutdown');
        return;
      }
      pending.push(delivery);
      // The delivery in flight is not in `pending`, so it is never the one dropped.
      while (pending.length + (inFlight ? 1 : 0) > maxQueue && pending.length > 0) drop(pending.shift()!, 'overflow');
      ensureDraining();
    },
    size: () => pending.length + (inFlight ? 1 : 0),
    async idle() {
      while (draining) await draining;
    },
    async stop(graceMs) {
      stopping = true;
      wake.abort();
      if (draining) {
        const drained = new AbortController();
        await Promise.race([draining, sleep(graceMs, drained.signal)]);
        drained.abort(); // ends the grace's sleep
      }
      hardStop.abort();
      const left = pending.splice(0);
      for (const delivery of left) drop(delivery, 'shutdown');
      while (draining) await draining;
    },
  };
}

/** The production PostWebhook: a JSON POST with Node's fetch. */
export function fetchPoster(url: string): PostWebhook {
  return async (body, signal) => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal });
    // Drain the body so the connection can be reused; its content is of no interest.
    await response.arrayBuffer().catch(() => undefined);
    return { status: response.status };
  };
}

/** setTimeout that an AbortSignal cuts short. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
