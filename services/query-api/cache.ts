/**
 * Answers for identical requests within `ttlMs` share one ClickHouse round trip: concurrent callers
 * wait on the same promise (single flight) and later ones reuse the result until it expires. Every
 * open dashboard polls every 2 s, so this bounds the store's load by distinct views, not viewers.
 * Failures are not cached. When `maxEntries` answers are held, expired ones and then the oldest
 * make room (never the whole cache: a burst of new views must not make every open one reload).
 * `clock` is monotonic milliseconds (performance.now), not business time.
 */
export interface ResultCache {
  get<T>(key: string, load: () => Promise<T>): Promise<T>;
}

export function createResultCache(ttlMs: number, clock: () => number = () => performance.now(), maxEntries = 500): ResultCache {
  /** Insertion order is load order, so the first entry is always the oldest: the one to evict. */
  const entries = new Map<string, { at: number; value: Promise<unknown> }>();
  const evictFor = (now: number) => {
    for (const [k, e] of entries) {
      if (entries.size < maxEntries && now - e.at < ttlMs) return;
      entries.delete(k);
    }
  };
  return {
    get<T>(key: string, load: () => Promise<T>): Promise<T> {
      if (ttlMs <= 0) return load();
      const now = clock();
      const hit = entries.get(key);
      if (hit && now - hit.at < ttlMs) return hit.value as Promise<T>;
      entries.delete(key);
      evictFor(now);
      const value = load();
      entries.set(key, { at: now, value });
      value.catch(() => entries.get(key)?.value === value && entries.delete(key));
      return value;
    },
  };
}
