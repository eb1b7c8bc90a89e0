import { MapSweep } from '../collections/map-sweep.js';
import type { StateUpdate } from './stateful-handler.js';

/** An entry's changelog value: the survivor, then this separator and the event time it was recorded at. */
const TIME_SEPARATOR = '\u0000';

interface Entry {
  survivor: string;
  /** Event time of the partition when recorded; NaN until known (see evictIdle). */
  at: number;
}

/**
 * A persisted set of absorbed customer ids (absorbed → survivor), under `<prefix><absorbed>` in a
 * changelog. Two uses:
 * - imports (`imp:`): a `transfer` is an output of the absorbed customer's owner, and outputs repeat
 *   when a step is replayed after a crash (at-least-once): merging the same state twice would count
 *   its sessions' events, purchases and signals twice. An absorbed id is exported once (its owner
 *   forwards everything after), so a repeat is recognised by the absorbed id alone;
 * - forwards (`fwd:`): the sessionizer's record of whom a merged-away id's late records go to.
 *
 * Both are needed only for a while after the merge (replays and cross-partition races are short), so
 * an entry is evicted, with a tombstone, once the partition's event time is `idleMs` past the time it
 * was recorded at (evictIdle). Values written before entries carried their time (the survivor alone)
 * get the event time of their first eviction check.
 */
export class MergeLedger {
  private readonly entries = new Map<string, Entry>();
  private readonly dirty = new Set<string>();
  private readonly sweep = new MapSweep(this.entries);

  constructor(private readonly prefix: string) {}

  /** Records the absorbed id at event time `at`; false when it was recorded before (a replay). */
  firstTime(absorbed: string, survivor: string, at: number): boolean {
    if (this.entries.has(absorbed)) return false;
    this.entries.set(absorbed, { survivor, at: Number.isFinite(at) ? at : Number.NaN });
    this.dirty.add(absorbed);
    return true;
  }

  /** The survivor recorded for this absorbed id, if any. */
  survivorOf(absorbed: string): string | undefined {
    return this.entries.get(absorbed)?.survivor;
  }

  /** Whether this absorbed id was recorded. */
  has(absorbed: string): boolean {
    return this.entries.has(absorbed);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Drops every entry naming `id`, as the absorbed or the survivor (a deletion, README: Privacy);
   * their tombstones go with the next drainUpdates. A scan: deletions are rare.
   */
  forget(id: string): void {
    for (const [absorbed, entry] of this.entries) {
      if (absorbed !== id && entry.survivor !== id) continue;
      this.entries.delete(absorbed);
      this.dirty.add(absorbed);
    }
  }

  /**
   * Evicts entries recorded at least `idleMs` of event time before `now` (tombstones with the next
   * drainUpdates), visiting at most `limit` entries per call; `start` begins a round over all of
   * them (MapSweep). An entry of unknown time is given `now`. Returns how many went.
   */
  evictIdle(now: number, idleMs: number, limit: number, start: boolean): number {
    if (start) this.sweep.start();
    const idle = this.sweep.visit(limit, (absorbed, entry) => {
      if (Number.isNaN(entry.at)) {
        entry.at = now;
        this.dirty.add(absorbed); // written again with its time
      }
      return now - entry.at >= idleMs;
    });
    for (const absorbed of idle) {
      this.entries.delete(absorbed);
      this.dirty.add(absorbed);
    }
    return idle.length;
  }

  /** Takes a changelog entry if it is one of ours (null: a tombstone, the entry is gone). */
  restore(key: string, value: Buffer | null): boolean {
    if (!key.startsWith(this.prefix)) return false;
    if (value === null) {
      this.entries.delete(key.slice(this.prefix.length));
      return true;
    }
    const text = value.toString('utf8');
    const cut = text.lastIndexOf(TIME_SEPARATOR);
    const entry = cut < 0 ? { survivor: text, at: Number.NaN } : { survivor: text.slice(0, cut), at: Number(text.slice(cut + 1)) };
    this.entries.set(key.slice(this.prefix.length), entry);
    return true;
  }

  drainUpdates(): StateUpdate[] {
    const updates = [...this.dirty].map((absorbed) => {
      const entry = this.entries.get(absorbed);
      const value = entry === undefined ? null : Buffer.from(Number.isNaN(entry.at) ? entry.survivor : `${entry.survivor}${TIME_SEPARATOR}${entry.at}`);
      return { key: `${this.prefix}${absorbed}`, value };
    });
    this.dirty.clear();
    return updates;
  }
}
