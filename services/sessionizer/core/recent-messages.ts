import { cyrb53 } from './hash.js';

/**
 * The messageIds a router partition saw recently, by hash, bounded by count: SDK retries arrive
 * within seconds to minutes, so a duplicate is dropped before identity stitching can route its two
 * copies to two different customers (where per-customer dedup could not see both). Older
 * duplicates are still caught per customer by the sessionizer (24 h window). The router rebuilds
 * it on assignment from its local copy (retry-window-copy.ts) and the input partition itself (the
 * ids before where it resumes that the copy lacks).
 *
 * Two steps, because a batch whose send fails is handled again: ids are checked during the batch
 * (`seenBefore`, which also catches a repeat within the batch) but only remembered for later
 * batches once its outputs are durable (`commit`); `rollback` forgets the batch's ids.
 */
export class RecentMessages {
  private readonly seen = new Map<number, true>();
  private readonly pending = new Set<number>();
  constructor(private readonly capacity: number) {}

  seenBefore(messageId: string): boolean {
    const hash = cyrb53(messageId);
    if (this.seen.has(hash) || this.pending.has(hash)) return true;
    this.pending.add(hash);
    return false;
  }

  /** Remembers the batch's ids; returns their hashes (for the local copy). */
  commit(): number[] {
    const committed = [...this.pending];
    this.remember(committed);
    this.pending.clear();
    return committed;
  }

  /** Remembers hashes of ids seen before (oldest first), as a committed batch would. */
  remember(hashes: Iterable<number>): void {
    for (const hash of hashes) {
      this.seen.set(hash, true);
      if (this.seen.size > this.capacity) this.seen.delete(this.seen.keys().next().value as number);
    }
  }

  /** The remembered hashes, oldest first. */
  hashes(): number[] {
    return [...this.seen.keys()];
  }

  rollback(): void {
    this.pending.clear();
  }

  get size(): number {
    return this.seen.size;
  }
}
