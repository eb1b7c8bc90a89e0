import { FifoHashSet } from './fifo-hash-set.js';
import { cyrb53 } from './hash.js';

/**
 * The messageIds a router partition saw recently, by hash, bounded by count: SDK retries arrive
 * within seconds to minutes, so a duplicate is dropped before identity stitching can route its two
 * copies to two different customers (where per-customer dedup could not see both). Older
 * duplicates are still caught per customer by the sessionizer (24 h window). The router rebuilds
 * it on assignment from its local copy (retry-window-copy.ts) and the input partition itself (the
 * ids before where it resumes that the copy lacks).
 *
 * Two steps, because routed work whose send fails is handled again: ids are checked as they are
 * routed (`seenBefore`, which also catches a repeat not yet durable) but only remembered for good
 * once their outputs are durable (`commit`, oldest first: work routed after a durable point stays
 * pending); `rollback` forgets every pending id.
 */
export class RecentMessages {
  private readonly seen: FifoHashSet;
  /** Ids checked but not durable yet, in the order they were routed. */
  private readonly pending = new FifoHashSet(1_024, true);
  /** The position of the oldest pending id: positions count every id ever checked in, so they never repeat. */
  private pendingStart = 0;
  constructor(capacity: number) {
    this.seen = new FifoHashSet(capacity);
  }

  seenBefore(messageId: string): boolean {
    const hash = cyrb53(messageId);
    if (this.seen.has(hash) || this.pending.has(hash)) return true;
    this.pending.push(hash);
    return false;
  }

  /** The position after the newest pending id: a durable point taken now commits up to here. */
  get position(): number {
    return this.pendingStart + this.pending.size;
  }

  /** Remembers the pending ids before position `upTo` (all by default); returns their hashes (for the local copy). */
  commit(upTo = this.position): number[] {
    const count = Math.max(0, Math.min(this.pending.size, upTo - this.pendingStart));
    const committed = new Array<number>(count);
    for (let i = 0; i < count; i++) committed[i] = this.pending.shift();
    this.pendingStart += count;
    this.remember(committed);
    return committed;
  }

  /** Remembers hashes of ids seen before (oldest first), as a committed batch would. */
  remember(hashes: Iterable<number>): void {
    for (const hash of hashes) {
      if (this.seen.has(hash)) continue;
      if (this.seen.full) this.seen.shift();
      this.seen.push(hash);
    }
  }

  /** The remembered hashes, oldest first. */
  hashes(): number[] {
    return this.seen.toArray();
  }

  rollback(): void {
    this.pendingStart += this.pending.size;
    this.pending.clear();
  }

  get size(): number {
    return this.seen.size;
  }
}
