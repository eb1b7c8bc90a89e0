import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';

/**
 * A fixed-window counter store for @fastify/rate-limit that reads the injected clock instead of
 * Date.now(), so limits are testable and follow the same clock as receivedAt. Keys are write keys
 * of known sources (auth runs first), so the map stays as small as the source list.
 */
export function clockedRateLimitStore(now: () => number): FastifyRateLimitStoreCtor {
  class ClockedStore implements FastifyRateLimitStore {
    private readonly windows = new Map<string, { count: number; startedAt: number }>();

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      const at = now();
      let window = this.windows.get(key);
      if (window === undefined || window.startedAt + timeWindow <= at) {
        window = { count: 0, startedAt: at };
        this.windows.set(key, window);
      }
      window.count += 1;
      callback(null, { current: window.count, ttl: window.startedAt + timeWindow - at });
    }

    child(): FastifyRateLimitStore {
      return new ClockedStore();
    }
  }
  return ClockedStore;
}
