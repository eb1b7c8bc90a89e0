import type { StateUpdate } from './stateful-handler.js';

/**
 * A persisted set of absorbed customer ids (absorbed → survivor), under `<prefix><absorbed>` in a
 * changelog. Three uses:
 * - imports (`imp:`): a `transfer` is an output of the absorbed customer's owner, and outputs repeat
 *   when a step is replayed after a crash (at-least-once): merging the same state twice would count
 *   its sessions' events, purchases and signals twice. An absorbed id is exported once (its owner
 *   forwards everything after), so a repeat is recognised by the absorbed id alone;
 * - exports (`exp:`): after its merge notice, every later record of the absorbed id is forwarded
 *   upstream, so one that still arrives under its id is a repeat of an earlier output;
 * - forwards (`fwd:`): the sessionizer's record of whom a merged-away id's late records go to.
 */
export class MergeLedger {
  private readonly survivors = new Map<string, string>();
  private readonly dirty = new Set<string>();

  constructor(private readonly prefix: string) {}

  /** Records the absorbed id; false when it was recorded before (a replay). */
  firstTime(absorbed: string, survivor: string): boolean {
    if (this.survivors.has(absorbed)) return false;
    this.survivors.set(absorbed, survivor);
    this.dirty.add(absorbed);
    return true;
  }

  /** The survivor recorded for this absorbed id, if any. */
  survivorOf(absorbed: string): string | undefined {
    return this.survivors.get(absorbed);
  }

  /** Whether this absorbed id was recorded. */
  has(absorbed: string): boolean {
    return this.survivors.has(absorbed);
  }

  /**
   * Drops every entry naming `id`, as the absorbed or the survivor (a deletion, README: Privacy);
   * their tombstones go with the next drainUpdates. A scan: deletions are rare.
   */
  forget(id: string): void {
    for (const [absorbed, survivor] of this.survivors) {
      if (absorbed !== id && survivor !== id) continue;
      this.survivors.delete(absorbed);
      this.dirty.add(absorbed);
    }
  }

  /** Takes a changelog entry if it is one of ours. */
  restore(key: string, value: Buffer): boolean {
    if (!key.startsWith(this.prefix)) return false;
    this.survivors.set(key.slice(this.prefix.length), value.toString('utf8'));
    return true;
  }

  drainUpdates(): StateUpdate[] {
    const updates = [...this.dirty].map((absorbed) => {
      const survivor = this.survivors.get(absorbed);
      return { key: `${this.prefix}${absorbed}`, value: survivor === undefined ? null : Buffer.from(survivor) };
    });
    this.dirty.clear();
    return updates;
  }
}
