/**
 * A binary min-heap of items by time: the one heap of the project (the simulator's event queue,
 * the sessionizer's session deadlines, the stages' due index). Times live in a parallel array so
 * comparisons never touch the items, and no object is made per entry. Ties come out in an order
 * fixed by the sequence of operations, so runs are reproducible. Entries are never updated or
 * removed in place (except the top, by `retimeTop`): owners that move a deadline push a new entry
 * and skip the stale one when it comes out.
 */
export class TimeHeap<T> {
  private items: T[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The earliest time, or +Infinity when empty. */
  peekTime(): number {
    return this.keys.length === 0 ? Number.POSITIVE_INFINITY : this.keys[0]!;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T, time: number): void {
    const items = this.items;
    const keys = this.keys;
    let i = items.length;
    items.push(item);
    keys.push(time);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = keys[parent]!;
      if (pt <= time) break;
      items[i] = items[parent]!;
      keys[i] = pt;
      i = parent;
    }
    items[i] = item;
    keys[i] = time;
  }

  pop(): T | undefined {
    const items = this.items;
    const keys = this.keys;
    if (items.length === 0) return undefined;
    const top = items[0];
    const lastItem = items.pop()!;
    const lastKey = keys.pop()!;
    if (items.length > 0) this.siftDown(lastItem, lastKey);
    return top;
  }

  /** Empties the heap (owners with lazy deletion rebuild it from their live entries). */
  clear(): void {
    this.items = [];
    this.keys = [];
  }

  /** Gives the earliest item a new (later or equal) time: one sift instead of a pop and a push. */
  retimeTop(time: number): void {
    if (this.items.length === 0) return;
    this.siftDown(this.items[0]!, time);
  }

  private siftDown(item: T, time: number): void {
    const items = this.items;
    const keys = this.keys;
    const n = items.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && keys[right]! < keys[left]! ? right : left;
      const ct = keys[child]!;
      if (ct >= time) break;
      items[i] = items[child]!;
      keys[i] = ct;
      i = child;
    }
    items[i] = item;
    keys[i] = time;
  }
}
