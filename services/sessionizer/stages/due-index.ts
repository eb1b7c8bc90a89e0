import { TimeHeap } from '../../platform/collections/time-heap.js';

/**
 * Which customers need a `tick`, by time: a min-heap of (dueAt, key) with lazy deletion.
 * `tick(now)` pops only what is due instead of scanning every customer.
 *
 * Invariant: an entry (t, key) is live iff `scheduled.get(key) === t`. Moving a key's due time
 * LATER pushes nothing (the earlier entry fires, the owner finds nothing due and reschedules), so
 * the common case — activity pushing deadlines out — costs one map lookup.
 */
export class DueIndex {
  private readonly heap = new TimeHeap<string>();
  private readonly scheduled = new Map<string, number>();

  /** Makes sure `key` is popped no later than `at` (null: nothing to schedule). */
  schedule(key: string, at: number | null): void {
    if (at === null) return;
    const current = this.scheduled.get(key);
    if (current !== undefined && current <= at) return;
    this.scheduled.set(key, at);
    this.heap.push(key, at);
    if (this.heap.size > 2 * this.scheduled.size + 1024) this.compact();
  }

  /** Whether `key` has time-driven work scheduled (possibly at a stale, earlier time). */
  has(key: string): boolean {
    return this.scheduled.has(key);
  }

  unschedule(key: string): void {
    this.scheduled.delete(key);
  }

  /** Keys due at or before `now`, earliest first, at most `limit`. They are no longer scheduled. */
  popDue(now: number, limit = Infinity): string[] {
    const out: string[] = [];
    while (out.length < limit && this.heap.peekTime() <= now) {
      const t = this.heap.peekTime();
      const key = this.heap.pop()!;
      if (this.scheduled.get(key) !== t) continue; // stale
      this.scheduled.delete(key);
      out.push(key);
    }
    return out;
  }

  /** The earliest live due time, or null. */
  peek(): number | null {
    while (this.heap.size > 0 && this.scheduled.get(this.heap.peek()!) !== this.heap.peekTime()) this.heap.pop();
    return this.heap.size > 0 ? this.heap.peekTime() : null;
  }

  get size(): number {
    return this.scheduled.size;
  }

  get heapSize(): number {
    return this.heap.size;
  }

  private compact(): void {
    this.heap.clear();
    for (const [key, t] of this.scheduled) this.heap.push(key, t);
  }
}
