import { hash } from 'node:crypto';
import { z } from 'zod';

/**
 * The one-way form under which the pipeline remembers an id it was asked to forget: SHA-256 hex of
 * the namespaced id (`u:<userId>`, `a:<anonymousId>`, `e:<email hash>`). The suppression list, the
 * forget markers and the `deletions` table hold only this, never the id itself.
 */
export function forgottenIdHash(namespacedId: string): string {
  return hash('sha256', namespacedId, 'hex');
}

/** What is remembered of one forgotten id (the value of its entry in `forgotten-ids` and `identity-links`). */
export const ForgottenIdEntry = z.strictObject({
  deletionId: z.string().min(1).max(64),
  /** When the deletion was executed (epoch ms): data received up to here is the customer's old data. */
  at: z.number().int().nonnegative(),
  /** Also drop everything received after `at` (the customer asked not to be tracked again). */
  suppress: z.boolean(),
});
export type ForgottenIdEntry = z.infer<typeof ForgottenIdEntry>;

/** How many raw ids' hashes a set remembers, so a busy device's events hash its ids once, not per event. */
const MEMO_SIZE = 50_000;

/**
 * The forgotten ids a step knows, by hash, with the rule every step applies: data of a forgotten id
 * received up to its deletion is the deleted customer's and is dropped wherever it shows up again
 * (a replay, a restart, a record still in flight); data received later is dropped only when the
 * deletion asked for suppression, else it is a new customer's.
 *
 * Bounded: `maxEntries` forgotten ids (past it, `add` refuses and the caller reports it); hashing
 * costs ~1–2 µs, so a memo of the last MEMO_SIZE raw ids keeps the per-event price at a Map lookup.
 * An empty set costs nothing per event.
 */
export class ForgottenIds {
  private readonly entries = new Map<string, ForgottenIdEntry>();
  /**
   * The memo in two generations, newest first: when `memo` holds MEMO_SIZE / 2 ids it becomes
   * `olderMemo` and a new one starts. Evicting one id at a time (`keys().next()`) scanned the Map's
   * deleted slots on every eviction in V8, ~20-100 µs each at this size.
   */
  private memo = new Map<string, string>();
  private olderMemo = new Map<string, string>();

  constructor(private readonly maxEntries = 1_000_000) {}

  get size(): number {
    return this.entries.size;
  }

  /** Records one forgotten id by hash; false when the set is full (the entry is not kept). */
  add(idHash: string, entry: ForgottenIdEntry): boolean {
    if (!this.entries.has(idHash) && this.entries.size >= this.maxEntries) return false;
    const known = this.entries.get(idHash);
    // The latest deletion of an id decides; a suppression is never undone by a later plain deletion.
    this.entries.set(idHash, known === undefined ? entry : { ...entry, at: Math.max(known.at, entry.at), suppress: known.suppress || entry.suppress });
    return true;
  }

  entryOf(namespacedId: string): ForgottenIdEntry | undefined {
    if (this.entries.size === 0) return undefined;
    let idHash = this.memo.get(namespacedId);
    if (idHash === undefined) {
      idHash = this.olderMemo.get(namespacedId) ?? forgottenIdHash(namespacedId);
      if (this.memo.size >= MEMO_SIZE / 2) {
        this.olderMemo = this.memo;
        this.memo = new Map();
      }
      this.memo.set(namespacedId, idHash);
    }
    return this.entries.get(idHash);
  }

  /** Whether data about these namespaced ids, received at `receivedAt`, must be dropped. */
  drops(namespacedIds: readonly (string | null)[], receivedAt: number): boolean {
    if (this.entries.size === 0) return false;
    for (const id of namespacedIds) {
      if (id === null) continue;
      const entry = this.entryOf(id);
      if (entry !== undefined && (entry.suppress || receivedAt <= entry.at)) return true;
    }
    return false;
  }

  /** Whether new data about these ids must be dropped whenever it was received (suppression only). */
  suppresses(namespacedIds: readonly (string | null)[]): boolean {
    return this.drops(namespacedIds, Number.POSITIVE_INFINITY);
  }
}
