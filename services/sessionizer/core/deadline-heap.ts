/**
 * Min-heap of (deadline, key) in two parallel arrays: no object per entry. Entries are never updated
 * or removed in place; the owner remembers each key's current deadline and skips stale entries on pop.
 */
export class DeadlineHeap {
  private readonly deadlines: number[] = [];
  private readonly keys: string[] = [];

  get size(): number {
    return this.keys.length;
  }

  /** Deadline of the earliest entry; Infinity when empty. */
  peekDeadline(): number {
    return this.deadlines.length > 0 ? this.deadlines[0]! : Infinity;
  }

  push(deadline: number, key: string): void {
    const d = this.deadlines;
    const k = this.keys;
    let i = d.length;
    d.push(deadline);
    k.push(key);
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (d[up]! <= deadline) break;
      d[i] = d[up]!;
      k[i] = k[up]!;
      i = up;
    }
    d[i] = deadline;
    k[i] = key;
  }

  /** Removes the earliest entry and returns its key (undefined when empty). */
  pop(): string | undefined {
    const d = this.deadlines;
    const k = this.keys;
    if (k.length === 0) return undefined;
    const top = k[0];
    const lastD = d.pop()!;
    const lastK = k.pop()!;
    const n = k.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && d[r]! < d[l]! ? r : l;
        if (d[c]! >= lastD) break;
        d[i] = d[c]!;
        k[i] = k[c]!;
        i = c;
      }
      d[i] = lastD;
      k[i] = lastK;
    }
    return top;
  }
}
