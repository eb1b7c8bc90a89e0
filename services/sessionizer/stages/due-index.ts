/**
 * Which customers need a `tick`, by time: a binary min-heap of (dueAt, key) with lazy deletion.
 * `tick(now)` pops only what is due instead of scanning every customer.
 *
 * Invariant: an entry (t, key) is live iff `scheduled.get(key) === t`. Moving a key's due time
 * LATER pushes nothing (the earlier entry fires, the owner finds nothing due and reschedules), so
 * the common case — activity pushing deadlines out — costs one map lookup.
 */
export class DueIndex {
  private times: number[] = [];
  private keys: string[] = [];
  private readonly scheduled = new Map<string, number>();

  /** Makes sure `key` is popped no later than `at` (null: nothing to schedule). */
  schedule(key: string, at: number | null): void {
    if (at === null) return;
    const current = this.scheduled.get(key);
    if (current !== undefined && current <= at) return;
    this.scheduled.set(key, at);
    this.push(at, key);
    if (this.times.length > 2 * this.scheduled.size + 1024) this.compact();
  }

  unschedule(key: string): void {
    this.scheduled.delete(key);
  }

  /** Keys due at or before `now`, earliest first, at most `limit`. They are no longer scheduled. */
  popDue(now: number, limit = Infinity): string[] {
    const out: string[] = [];
    while (out.length < limit && this.times.length > 0 && this.times[0]! <= now) {
      const t = this.times[0]!;
      const key = this.keys[0]!;
      this.pop();
      if (this.scheduled.get(key) !== t) continue; // stale
      this.scheduled.delete(key);
      out.push(key);
    }
    return out;
  }

  /** The earliest live due time, or null. */
  peek(): number | null {
    while (this.times.length > 0 && this.scheduled.get(this.keys[0]!) !== this.times[0]) this.pop();
    return this.times[0] ?? null;
  }

  get size(): number {
    return this.scheduled.size;
  }

  get heapSize(): number {
    return this.times.length;
  }

  private compact(): void {
    const entries = [...this.scheduled.entries()];
    this.times = [];
    this.keys = [];
    for (const [key, t] of entries) this.push(t, key);
  }

  private push(t: number, key: string): void {
    const times = this.times;
    const keys = this.keys;
    let i = times.length;
    times.push(t);
    keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent]! <= t) break;
      times[i] = times[parent]!;
      keys[i] = keys[parent]!;
      i = parent;
    }
    times[i] = t;
    keys[i] = key;
  }

  private pop(): void {
    const times = this.times;
    const keys = this.keys;
    const lastT = times.pop()!;
    const lastK = keys.pop()!;
    const n = times.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && times[r]! < times[l]! ? r : l;
      if (times[c]! >= lastT) break;
      times[i] = times[c]!;
      keys[i] = keys[c]!;
      i = c;
    }
    times[i] = lastT;
    keys[i] = lastK;
  }
}
