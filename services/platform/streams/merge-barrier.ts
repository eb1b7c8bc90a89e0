import type { StateUpdate } from './stateful-handler.js';

const PREFIX = 'wait:';

interface Wait {
  /** Absorbed ids whose journey state has not arrived yet. */
  pending: Set<string>;
  /** The survivor's records that came after the merge, in arrival order (encoded, as received). */
  held: Buffer[];
  /** Processing time the wait began: a wait that outlives `maxWaitMs` is released anyway. */
  since: number;
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
 * survivor forever: waits end after `maxWaitMs` of processing time or `maxHeld` records.
 */
export class MergeBarrier {
  private readonly waits = new Map<string, Wait>();
  private readonly dirty = new Set<string>();

  constructor(private readonly limits: { maxWaitMs: number; maxHeld: number }) {}

  get waiting(): number {
    return this.waits.size;
  }

  /** `survivor` is about to absorb `absorbed`: hold its records until that state arrives. */
  expect(survivor: string, absorbed: string, now: number): void {
    const wait = this.waits.get(survivor) ?? { pending: new Set<string>(), held: [], since: now };
    wait.pending.add(absorbed);
    this.waits.set(survivor, wait);
    this.dirty.add(survivor);
  }

  /** `survivor` is waiting for the state of `absorbed`. */
  awaits(survivor: string, absorbed: string): boolean {
    return this.waits.get(survivor)?.pending.has(absorbed) ?? false;
  }

  isWaiting(customerId: string): boolean {
    return this.waits.has(customerId);
  }

  /** Holds the record if `customerId` is waiting; false when it may be processed now. */
  hold(customerId: string, encoded: Buffer): boolean {
    const wait = this.waits.get(customerId);
    if (!wait) return false;
    wait.held.push(encoded);
    this.dirty.add(customerId);
    return true;
  }

  /** The state of `absorbed` reached `survivor`: returns the records to process now (the wait is over), or []. */
  arrived(survivor: string, absorbed: string): Buffer[] {
    const wait = this.waits.get(survivor);
    if (!wait || !wait.pending.delete(absorbed)) return [];
    this.dirty.add(survivor);
    if (wait.pending.size > 0) return [];
    this.waits.delete(survivor);
    return wait.held;
  }

  /** Waits past their limits, ended: survivor → its held records, to process now. */
  overdue(now: number): Array<[string, Buffer[]]> {
    const out: Array<[string, Buffer[]]> = [];
    for (const [survivor, wait] of this.waits) {
      if (now - wait.since < this.limits.maxWaitMs && wait.held.length < this.limits.maxHeld) continue;
      this.waits.delete(survivor);
      this.dirty.add(survivor);
      out.push([survivor, wait.held]);
    }
    return out;
  }

  /** Takes a changelog entry if it is one of ours. */
  restore(key: string, value: Buffer): boolean {
    if (!key.startsWith(PREFIX)) return false;
    const parsed = JSON.parse(value.toString('utf8')) as { pending: string[]; held: string[]; since: number };
    this.waits.set(key.slice(PREFIX.length), {
      pending: new Set(parsed.pending),
      held: parsed.held.map((b) => Buffer.from(b, 'base64')),
      since: parsed.since,
    });
    return true;
  }

  drainUpdates(): StateUpdate[] {
    const updates = [...this.dirty].map((survivor) => {
      const wait = this.waits.get(survivor);
      const value = wait ? JSON.stringify({ pending: [...wait.pending], held: wait.held.map((b) => b.toString('base64')), since: wait.since }) : null;
      return { key: `${PREFIX}${survivor}`, value: value === null ? null : Buffer.from(value) };
    });
    this.dirty.clear();
    return updates;
  }
}
