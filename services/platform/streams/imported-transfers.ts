import type { StateUpdate } from './stateful-handler.js';

const PREFIX = 'imp:';

/**
 * Which absorbed customers' state a partition has merged into a survivor. A `transfer` is an output
 * of the absorbed customer's owner, and outputs repeat when a step is replayed after a crash
 * (at-least-once): merging the same state twice would count its sessions' events, purchases and
 * signals twice. An absorbed id is exported once (its owner forwards everything after), so a
 * repeat is recognised by the absorbed id alone. Persisted in the changelog under `imp:<absorbed>`.
 */
export class ImportedTransfers {
  private readonly imported = new Map<string, string>();
  private readonly dirty = new Set<string>();

  /** Records the import; false when this absorbed id was imported before (a replayed transfer). */
  firstTime(absorbed: string, survivor: string): boolean {
    if (this.imported.has(absorbed)) return false;
    this.imported.set(absorbed, survivor);
    this.dirty.add(absorbed);
    return true;
  }

  /** Whether this absorbed id's state was merged here already. */
  has(absorbed: string): boolean {
    return this.imported.has(absorbed);
  }

  /** Takes a changelog entry if it is one of ours. */
  restore(key: string, value: Buffer): boolean {
    if (!key.startsWith(PREFIX)) return false;
    this.imported.set(key.slice(PREFIX.length), value.toString('utf8'));
    return true;
  }

  drainUpdates(): StateUpdate[] {
    const updates = [...this.dirty].map((absorbed) => ({ key: `${PREFIX}${absorbed}`, value: Buffer.from(this.imported.get(absorbed)!) }));
    this.dirty.clear();
    return updates;
  }
}
