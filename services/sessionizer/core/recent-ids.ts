/**
 * A customer's recently seen messageId hashes with their event times, for duplicate detection.
 * Small sets are a flat number array [hash, time, hash, time, …] (unboxed doubles, no per-entry
 * objects, a linear scan is faster than hashing at this size); large ones switch to a Map.
 */
export type RecentIds = number[] | Map<number, number>;

const ARRAY_MAX_PAIRS = 32;

/** Index of `hash` in a flat pair array starting at `from`, or -1. */
function indexIn(pairs: number[], hash: number, from: number): number {
  for (let i = from; i < pairs.length; i += 2) if (pairs[i] === hash) return i;
  return -1;
}

/** A duplicate is the same hash within `windowMs` of event time of the remembered copy. */
export function isDuplicate(ids: RecentIds, hash: number, t: number, windowMs: number, from = 0): boolean {
  if (Array.isArray(ids)) {
    const i = indexIn(ids, hash, from);
    return i >= 0 && Math.abs(ids[i + 1]! - t) <= windowMs;
  }
  const seen = ids.get(hash);
  return seen !== undefined && Math.abs(seen - t) <= windowMs;
}

/** Remembers (hash, t), replacing an older entry for the same hash; may return a new container. */
export function remember(ids: RecentIds, hash: number, t: number): RecentIds {
  if (!Array.isArray(ids)) return ids.set(hash, t);
  const i = indexIn(ids, hash, 0);
  if (i >= 0) {
    ids[i + 1] = t;
    return ids;
  }
  ids.push(hash, t);
  if (ids.length <= 2 * ARRAY_MAX_PAIRS) return ids;
  const map = new Map<number, number>();
  for (let j = 0; j < ids.length; j += 2) map.set(ids[j]!, ids[j + 1]!);
  return map;
}

/**
 * Keeps at most `max` ids, evicting the earliest remembered first (a Map keeps insertion order, so
 * eviction is O(1) per id). Returns how many were evicted. An evicted id's repeat is no longer
 * recognised: that is the price of the bound, counted by the caller.
 */
export function capIds(ids: RecentIds, max: number): number {
  const excess = sizeOf(ids) - max;
  if (excess <= 0) return 0;
  if (Array.isArray(ids)) {
    ids.splice(0, 2 * excess);
    return excess;
  }
  let left = excess;
  for (const hash of ids.keys()) {
    if (left-- === 0) break;
    ids.delete(hash);
  }
  return excess;
}

/** Drops entries older than `minTime` (past the window of any on-time event). */
export function forgetBefore(ids: RecentIds, minTime: number): RecentIds {
  if (Array.isArray(ids)) {
    let w = 0;
    for (let i = 0; i < ids.length; i += 2) {
      if (ids[i + 1]! >= minTime) {
        ids[w++] = ids[i]!;
        ids[w++] = ids[i + 1]!;
      }
    }
    ids.length = w;
    return ids;
  }
  for (const [hash, t] of ids) if (t < minTime) ids.delete(hash);
  return ids.size <= ARRAY_MAX_PAIRS ? pairsOf(ids) : ids;
}

/** Earliest remembered time at or after index `from` of a flat array, Infinity when empty. */
export function oldestTime(ids: RecentIds, from = 0): number {
  let oldest = Infinity;
  if (Array.isArray(ids)) for (let i = from + 1; i < ids.length; i += 2) oldest = Math.min(oldest, ids[i]!);
  else for (const t of ids.values()) oldest = Math.min(oldest, t);
  return oldest;
}

export function pairsOf(ids: RecentIds): number[] {
  if (Array.isArray(ids)) return ids;
  const pairs: number[] = [];
  for (const [hash, t] of ids) pairs.push(hash, t);
  return pairs;
}

export function sizeOf(ids: RecentIds): number {
  return Array.isArray(ids) ? ids.length / 2 : ids.size;
}

/** A container for flat pairs (copied), choosing the array or Map form by size. */
export function fromPairs(pairs: readonly number[], from = 0): RecentIds {
  if (pairs.length - from <= 2 * ARRAY_MAX_PAIRS) return pairs.slice(from);
  const map = new Map<number, number>();
  for (let i = from; i < pairs.length; i += 2) map.set(pairs[i]!, pairs[i + 1]!);
  return map;
}
