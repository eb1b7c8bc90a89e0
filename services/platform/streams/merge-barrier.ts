import type { JourneyRecord } from '../../../schemas/journey.js';
import { MergeLedger } from './merge-ledger.js';
import type { StateUpdate } from './stateful-handler.js';

const PREFIX = 'wait:';

interface Wait {
  /** Absorbed ids whose journey state has not arrived yet. */
  pending: Set<string>;
  /** The survivor's records that came after the merge, in arrival order (encoded, as received). */
  held: Buffer[];
  /** Bytes of `held`. */
  heldBytes: number;
  /** Processing time the wait began. */
  began: number;
  /**
   * Since when this partition has been caught up during the wait (its clock for `maxWaitMs`). Not
   * persisted: NaN after a restore, as the restart delayed the transfer too (the clock starts again).
   */
  since: number;
}

/** However far behind the partition is, a wait ends after this many times `maxWaitMs`. */
const BACKLOG_WAIT_FACTOR = 12;

export interface MergeWaitLimits {
  maxWaitMs: number;
  maxHeld: number;
  /**
   * Bytes of held records per survivor. The wait is one changelog value (held records in base64,
   * 4/3 of this), which must fit in one produce request with the rest of a state flush.
   */
  maxHeldBytes: number;
}

/** Default bytes of records one survivor may hold (about 340 KiB in its changelog value). */
export const DEFAULT_MAX_HELD_BYTES = 256 * 1024;

/** The limits for a wait of `seconds` (the services' *_MERGE_WAIT_SECONDS; 300 by default). */
export function mergeWaitLimits(seconds = 300, maxHeldBytes = DEFAULT_MAX_HELD_BYTES): MergeWaitLimits {
  return { maxWaitMs: seconds * 1_000, maxHeld: 10_000, maxHeldBytes };
}

/**
 * Makes a survivor's state independent of how fast the absorbed customer's state travels.
 * The router announces a merge to both sides (`merge` to the absorbed id's owner, `absorbing` to the
 * survivor's), in sequence with the touchpoints it routes. The survivor's owner then holds the
 * survivor's later records until the absorbed state (`transfer`, possibly empty) has been merged,
 * so those records always meet the merged state: a late event inside the absorbed id's session
 * joins it, a purchase is a repeat purchase, a consideration event converts from the absorbed id's
 * awareness, whichever partition was faster. Both the sessionizer and the stages service use it.
 * Held records live in the changelog (`wait:<survivor>`), so a restart resumes the wait.
 *
 * A transfer that never comes (its absorbed owner found nothing to merge twice, say) would hold the
 * survivor forever: waits end after `maxWaitMs` of processing time, and at once when one more record
 * would exceed `maxHeld` records or `maxHeldBytes` (hold returns false: the caller ends the wait
 * with `end` and processes the held records, then that one, without the absorbed state). The time
 * counts only while this partition is caught up: with a backlog, the transfer is queued behind it
 * (it travels through the same topic), and releasing the held records before it arrives would make
 * the result depend on how large the backlog was. A backlog stretches a wait to
 * BACKLOG_WAIT_FACTOR × `maxWaitMs` at most.
 *
 * It also keeps the ledger of absorbed ids already merged here (`imp:`): transfers repeat when the
 * absorbed owner replays a step, and merging one twice would count its events twice.
 */
export class MergeBarrier {
  private readonly waits = new Map<string, Wait>();
  private readonly dirty = new Set<string>();
  private readonly imported = new MergeLedger('imp:');

  constructor(private readonly limits: MergeWaitLimits) {}

  /**
   * Whether `record` must wait behind its customer's held records: everything for a waiting
   * survivor keeps its place in line, except the state it waits for.
   */
  mustHold(record: Pick<JourneyRecord, 'kind' | 'customerId' | 'mergedFrom'>): boolean {
    const wait = this.waits.get(record.customerId);
    if (!wait) return false;
    return !(record.kind === 'transfer' && record.mergedFrom !== null && wait.pending.has(record.mergedFrom));
  }

  /** An `absorbing` notice: wait for the absorbed state, unless it is already here (a replayed notice). */
  absorbing(survivor: string, absorbed: string | null, now: number): void {
    if (absorbed && absorbed !== survivor && !this.imported.has(absorbed)) this.expect(survivor, absorbed, now);
  }

  /**
   * A `transfer` reached `survivor`: `merge` says whether its state is new here (merge it first),
   * `release` the records held for it, to process after the merge. `eventTime`: the partition's, for
   * the ledger entry's age (evictIdle).
   */
  transferred(survivor: string, absorbed: string | null, eventTime: number): { merge: boolean; release: Buffer[] } {
    if (absorbed === null) return { merge: true, release: [] };
    return { merge: this.imported.firstTime(absorbed, survivor, eventTime), release: this.arrived(survivor, absorbed) };
  }

  /**
   * Evicts ledger entries of absorbed ids merged at least `idleMs` of event time ago (MergeLedger.evictIdle):
   * a transfer repeated after that would be merged again. Waits are not evicted: they end on their own limits.
   */
  evictIdle(eventTime: number, idleMs: number, limit: number, start: boolean): number {
    return this.imported.evictIdle(eventTime, idleMs, limit, start);
  }

  /** Whether `customerId` is a survivor waiting for an absorbed state. */
  isWaiting(customerId: string): boolean {
    return this.waits.has(customerId);
  }

  get waiting(): number {
    return this.waits.size;
  }

  /** `survivor` is about to absorb `absorbed`: hold its records until that state arrives. */
  private expect(survivor: string, absorbed: string, now: number): void {
    const wait = this.waits.get(survivor) ?? { pending: new Set<string>(), held: [], heldBytes: 0, began: now, since: now };
    wait.pending.add(absorbed);
    this.waits.set(survivor, wait);
    this.dirty.add(survivor);
  }

  /**
   * Holds a record of a waiting customer (call when `mustHold`). False when the wait is full (one
   * more record would pass `maxHeld` or `maxHeldBytes`): nothing is held, end the wait (`end`).
   */
  hold(customerId: string, encoded: Buffer): boolean {
    const wait = this.waits.get(customerId);
    if (!wait) throw new Error(`${customerId} is not waiting`);
    if (wait.held.length + 1 > this.limits.maxHeld || wait.heldBytes + encoded.length > this.limits.maxHeldBytes) return false;
    wait.held.push(encoded);
    wait.heldBytes += encoded.length;
    this.dirty.add(customerId);
    return true;
  }

  /** Ends a survivor's wait now (it is full): its held records, to process before anything else of it. */
  end(customerId: string): Buffer[] {
    const wait = this.waits.get(customerId);
    if (!wait) return [];
    this.waits.delete(customerId);
    this.dirty.add(customerId);
    return wait.held;
  }

  /**
   * A deletion (README: Privacy): `id` stops waiting, its held records are dropped unprocessed, and
   * the ledger forgets it; the tombstones go with the next drainUpdates.
   */
  forget(id: string): void {
    if (this.waits.delete(id)) this.dirty.add(id);
    for (const wait of this.waits.values()) wait.pending.delete(id);
    this.imported.forget(id);
  }

  /** The state of `absorbed` reached `survivor`: returns the records to process now (the wait is over), or []. */
  private arrived(survivor: string, absorbed: string): Buffer[] {
    const wait = this.waits.get(survivor);
    if (!wait || !wait.pending.delete(absorbed)) return [];
    this.dirty.add(survivor);
    if (wait.pending.size > 0) return [];
    this.waits.delete(survivor);
    return wait.held;
  }

  /**
   * Ends the waits past their limits: one entry per ended wait, its held records to process now.
   * `caughtUp`: the partition has no backlog (otherwise the waits' clocks stand still, see the
   * class comment).
   */
  overdue(now: number, caughtUp: boolean): Buffer[][] {
    const out: Buffer[][] = [];
    const { maxWaitMs, maxHeld } = this.limits;
    for (const [survivor, wait] of this.waits) {
      if (!caughtUp || Number.isNaN(wait.since)) wait.since = now;
      const expired = now - wait.since >= maxWaitMs || now - wait.began >= maxWaitMs * BACKLOG_WAIT_FACTOR;
      if (!expired && wait.held.length < maxHeld && wait.heldBytes < this.limits.maxHeldBytes) continue;
      this.waits.delete(survivor);
      this.dirty.add(survivor);
      out.push(wait.held);
    }
    return out;
  }

  /** Takes a changelog entry if it is one of ours (null: a tombstone, the wait is over). */
  restore(key: string, value: Buffer | null): boolean {
    if (this.imported.restore(key, value)) return true;
    if (!key.startsWith(PREFIX)) return false;
    if (value === null) {
      this.waits.delete(key.slice(PREFIX.length));
      return true;
    }
    // Records written before `began` existed carry the start as `since`.
    const parsed = JSON.parse(value.toString('utf8')) as { pending: string[]; held: string[]; began?: number; since?: number };
    const held = parsed.held.map((b) => Buffer.from(b, 'base64'));
    this.waits.set(key.slice(PREFIX.length), {
      pending: new Set(parsed.pending),
      held,
      heldBytes: held.reduce((n, b) => n + b.length, 0),
      began: parsed.began ?? parsed.since ?? 0,
      since: Number.NaN,
    });
    return true;
  }

  drainUpdates(): StateUpdate[] {
    const updates = [...this.dirty].map((survivor) => {
      const wait = this.waits.get(survivor);
      const value = wait ? JSON.stringify({ pending: [...wait.pending], held: wait.held.map((b) => b.toString('base64')), began: wait.began }) : null;
      return { key: `${PREFIX}${survivor}`, value: value === null ? null : Buffer.from(value) };
    });
    this.dirty.clear();
    return [...this.imported.drainUpdates(), ...updates];
  }
}
