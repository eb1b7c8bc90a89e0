import type { Logger } from '../logging/logger.js';
import { retry, sleepMs } from '../retry/retry.js';
import type { Component, Health } from './component.js';

export interface BackgroundStartOptions {
  logger: Logger;
  /** Pause between failed attempts. */
  retryMs: number;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Lets a process start while a dependency is away: `start` returns at once and the wrapped part is
 * started in the background, again after every failure, until it starts or `stop` is called.
 * Until then `health` is not ok and says why, so callers answer "unavailable" instead of the
 * process exiting (the collector answers 503 + Retry-After while Kafka is not there yet).
 */
export function startInBackground(part: Component, options: BackgroundStartOptions): Component & { started(): Promise<void> } {
  const sleep = options.sleep ?? sleepMs;
  let state: 'idle' | 'starting' | 'started' | 'stopped' = 'idle';
  let attempts = 0;
  let lastError: string | undefined;
  let loop: Promise<void> = Promise.resolve();
  let markStarted: () => void = () => {};
  const started = new Promise<void>((r) => (markStarted = r));

  const run = async () => {
    const launched = await retry(
      async () => {
        if (state !== 'starting') return false;
        attempts++;
        await part.start();
        return true;
      },
      {
        delayMs: ({ error }) => {
          lastError = error instanceof Error ? error.message : String(error);
          if (attempts === 1 || attempts % 10 === 0) options.logger.warn({ part: part.name, attempts, err: lastError }, 'not started yet; retrying');
          return options.retryMs;
        },
        sleep,
      },
    );
    if (!launched) return;
    if (state !== 'starting') {
      // stop() came while the last attempt was in progress: undo it.
      await part.stop().catch(() => undefined);
      return;
    }
    state = 'started';
    lastError = undefined;
    if (attempts > 1) options.logger.info({ part: part.name, attempts }, 'started after retries');
    markStarted();
  };

  return {
    name: part.name,
    started: () => started,
    async start() {
      state = 'starting';
      loop = run();
    },
    async stop() {
      const wasStarted = state === 'started';
      state = 'stopped';
      await loop;
      if (wasStarted) await part.stop();
    },
    health(): Health {
      if (state === 'started') return part.health();
      return { ok: false, details: { starting: true, attempts, lastError } };
    },
  };
}
