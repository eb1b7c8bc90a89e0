import { TimeHeap } from '../../platform/collections/time-heap.js';

/**
 * Offsets from the base held as small integers (Smis: no heap object) in any V8 build, 31-bit with
 * pointer compression or 32-bit without: ±12.4 days in milliseconds.
 */
const NEAR = 2 ** 30 - 1;
/** In `times`: the key's time is in `far` (a Smi outside ±NEAR). */
const FAR = -(2 ** 30);

/**
 * Which customers need a `tick`, by time: a min-heap of (dueAt, key) with lazy deletion.
 * `tick(now)` pops only what is due instead of scanning every customer.
 *
 * Invariant: an entry (t, key) is live iff `timeOf(key) === t`. Moving a key's due time
 * LATER pushes nothing (the earlier entry fires, the owner finds nothing due and reschedules), so
 * the common case — activity pushing deadlines out — costs one map lookup.
 *
 * A key's time is held in `times` as its offset from `base` when that is a whole number within
 * ±NEAR, else in `far` as it is (and FAR in `times`): a time in a Map is a heap number of 16
 * bytes, an offset that small is not, and after a restore every customer is scheduled (16 MB per
 * million customers). `times` alone says which keys are scheduled, in the order they were
 * (compaction rebuilds the heap in that order, so ties pop as they always did). The base is the
 * first time scheduled, and the earliest at each compaction, so the window follows the clock.
 */
export class DueIndex {
  private readonly heap = new TimeHeap<string>();
  private readonly times = new Map<string, number>();
  private readonly far = new Map<string, number>();
  private base = Number.NaN;

  /** Makes sure `key` is popped no later than `at` (null: nothing to schedule). */
  schedule(key: string, at: number | null): void {
    if (at === null) return;
    // One lookup of `times` for both questions (a restore schedules every customer it reads).
    const held = this.times.get(key);
    if (held !== undefined && (held === FAR ? this.far.get(key)! : this.base + held) <= at) return;
    this.setTime(key, at, held);
    this.heap.push(key, at);
    if (this.heap.size > 2 * this.times.size + 1024) this.compact();
  }

  /** Whether `key` has time-driven work scheduled (possibly at a stale, earlier time). */
  has(key: string): boolean {
    return this.times.has(key);
  }

  unschedule(key: string): void {
    if (this.times.get(key) === FAR) this.far.delete(key);
    this.times.delete(key);
  }

  /** Keys due at or before `now`, earliest first, at most `limit`. They are no longer scheduled. */
  popDue(now: number, limit = Infinity): string[] {
    const out: string[] = [];
    while (out.length < limit && this.heap.peekTime() <= now) {
      const t = this.heap.peekTime();
      const key = this.heap.pop()!;
      if (this.timeOf(key) !== t) continue; // stale
      this.unschedule(key);
      out.push(key);
    }
    return out;
  }

  /** The earliest live due time, or null. */
  peek(): number | null {
    while (this.heap.size > 0 && this.timeOf(this.heap.peek()!) !== this.heap.peekTime()) this.heap.pop();
    return this.heap.size > 0 ? this.heap.peekTime() : null;
  }

  get size(): number {
    return this.times.size;
  }

  get heapSize(): number {
    return this.heap.size;
  }

  /** How many keys' times are held as they are (heap numbers), not as offsets. */
  get farSize(): number {
    return this.far.size;
  }

  /** The key's scheduled time, exactly as it was given, or undefined. */
  private timeOf(key: string): number | undefined {
    const held = this.times.get(key);
    if (held === undefined) return undefined;
    return held === FAR ? this.far.get(key) : this.base + held;
  }

  /** `held`: what `times` holds for the key now. */
  private setTime(key: string, at: number, held = this.times.get(key)): void {
    if (Number.isNaN(this.base) && Number.isSafeInteger(at)) this.base = at;
    const offset = at - this.base;
    // Whole and small: base + offset gives `at` back exactly (both are safe integers).
    if (Number.isSafeInteger(at) && offset >= -NEAR && offset <= NEAR) {
      if (held === FAR) this.far.delete(key);
      this.times.set(key, offset);
    } else {
      this.far.set(key, at);
      this.times.set(key, FAR);
    }
  }

  private compact(): void {
    const live: Array<[string, number]> = [];
    for (const key of this.times.keys()) live.push([key, this.timeOf(key)!]);
    this.heap.clear();
    let earliest = Number.POSITIVE_INFINITY;
    for (const [, t] of live) if (Number.isSafeInteger(t) && t < earliest) earliest = t;
    this.base = earliest === Number.POSITIVE_INFINITY ? Number.NaN : earliest;
    // Setting a key already in `times` keeps its place there: the order is the scheduling order.
    for (const [key, t] of live) {
      this.setTime(key, t);
      this.heap.push(key, t);
    }
  }
}
