/**
 * One copy of each site, event name and URL the session state holds. Every decoded touchpoint
 * brings fresh strings; kept in a session for the grace period (and in its summaries until it
 * closes), each would be promoted to the old generation and traced there, although a partition
 * sees few distinct values. Looked up in the pool, the fresh copy dies young.
 *
 * Bounded: past `maxEntries` distinct strings the pool starts afresh (the state keeps the strings
 * it holds; only later copies are no longer shared with them), so a stream of unique URLs costs a
 * Map of at most that size, never more.
 */
export class StringPool {
  private readonly pool = new Map<string, string>();

  constructor(private readonly maxEntries = 20_000) {}

  intern(s: string): string {
    const known = this.pool.get(s);
    if (known !== undefined) return known;
    if (this.pool.size >= this.maxEntries) this.pool.clear();
    this.pool.set(s, s);
    return s;
  }

  internOrNull(s: string | null): string | null {
    return s === null ? null : this.intern(s);
  }

  get size(): number {
    return this.pool.size;
  }
}
