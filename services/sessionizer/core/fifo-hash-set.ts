/**
 * A set of 53-bit hashes (cyrb53) that remembers insertion order and gives up its oldest first:
 * a ring of the hashes in order, and an open-addressing table (linear probing, at most half full)
 * to look them up. Both are Float64Arrays, so a set of 200,000 hashes is two typed arrays, not
 * 200,000 heap numbers in a Map for every major GC to mark and a Map iterator per eviction (the
 * router's retry window; docs/performance.md, "Recent messageIds in typed arrays").
 *
 * Invariant: every hash in the ring is in the table once, and the table holds nothing else.
 */
const EMPTY = -1;

export class FifoHashSet {
  private ring: Float64Array;
  /** Index in `ring` of the oldest hash. */
  private head = 0;
  private count = 0;
  private table: Float64Array;
  private mask: number;

  /** `capacity`: the most hashes held; a growable set starts there and doubles when full. */
  constructor(capacity: number, private readonly growable = false) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.ring = new Float64Array(capacity);
    this.table = new Float64Array(tableSizeFor(capacity)).fill(EMPTY);
    this.mask = this.table.length - 1;
  }

  get size(): number {
    return this.count;
  }

  /** True when the set is at its capacity (never for a growable set: it grows instead). */
  get full(): boolean {
    return !this.growable && this.count === this.ring.length;
  }

  has(hash: number): boolean {
    const table = this.table;
    for (let i = slotOf(hash, this.mask); table[i] !== EMPTY; i = (i + 1) & this.mask) if (table[i] === hash) return true;
    return false;
  }

  /** Adds `hash` as the newest. It must not be in the set, and a fixed set must not be full. */
  push(hash: number): void {
    if (this.count === this.ring.length) {
      if (!this.growable) throw new RangeError('FifoHashSet is full: shift() before push()');
      this.grow();
    }
    this.ring[(this.head + this.count) % this.ring.length] = hash;
    this.count++;
    this.insert(hash);
  }

  /** Removes and returns the oldest hash. The set must not be empty. */
  shift(): number {
    if (this.count === 0) throw new RangeError('FifoHashSet is empty');
    const hash = this.ring[this.head]!;
    this.head = (this.head + 1) % this.ring.length;
    this.count--;
    this.remove(hash);
    return hash;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
    this.table.fill(EMPTY);
  }

  /** The hashes, oldest first. */
  toArray(): number[] {
    const out = new Array<number>(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.ring[(this.head + i) % this.ring.length]!;
    return out;
  }

  private insert(hash: number): void {
    let i = slotOf(hash, this.mask);
    while (this.table[i] !== EMPTY) i = (i + 1) & this.mask;
    this.table[i] = hash;
  }

  /** Deletes by shifting the rest of the probe run back (no tombstones: lookups stay short). */
  private remove(hash: number): void {
    const table = this.table;
    const mask = this.mask;
    let i = slotOf(hash, mask);
    while (table[i] !== hash) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; table[j] !== EMPTY; j = (j + 1) & mask) {
      const home = slotOf(table[j]!, mask);
      // table[j] may move to the hole at i only if its home slot is not cyclically in (i, j].
      const between = i <= j ? home > i && home <= j : home > i || home <= j;
      if (between) continue;
      table[i] = table[j]!;
      i = j;
    }
    table[i] = EMPTY;
  }

  private grow(): void {
    const hashes = this.toArray();
    this.ring = new Float64Array(this.ring.length * 2);
    this.ring.set(hashes);
    this.head = 0;
    this.table = new Float64Array(tableSizeFor(this.ring.length)).fill(EMPTY);
    this.mask = this.table.length - 1;
    for (const hash of hashes) this.insert(hash);
  }
}

/** A power of two at least twice `capacity`: the table is at most half full. */
function tableSizeFor(capacity: number): number {
  let size = 2;
  while (size < capacity * 2) size *= 2;
  return size;
}

/** cyrb53's low 32 bits are well mixed: they pick the slot. */
const slotOf = (hash: number, mask: number): number => (hash >>> 0) & mask;
