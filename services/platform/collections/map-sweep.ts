/**
 * Visits a Map's entries a few at a time, each call resuming where the last one stopped, so a rare
 * check over every key (idle eviction) costs no index entry per key and no pause as long as the
 * whole map. A Map iterator stays valid while entries are deleted (they are skipped) or added
 * (visited later in the same round), so the owner may change the map between calls.
 */
export class MapSweep<K, V> {
  private iterator: Iterator<[K, V]> | null = null;

  constructor(private readonly map: Map<K, V>) {}

  /** Whether a round is under way (it ends when the last entry has been visited). */
  get sweeping(): boolean {
    return this.iterator !== null;
  }

  /** Starts a round over every entry, unless one is under way. */
  start(): void {
    this.iterator ??= this.map.entries();
  }

  /** Visits at most `limit` entries of the current round; returns the keys `pick` chose. */
  visit(limit: number, pick: (key: K, value: V) => boolean): K[] {
    const picked: K[] = [];
    if (this.iterator === null) return picked;
    for (let visited = 0; visited < limit; visited++) {
      const next = this.iterator.next();
      if (next.done) {
        this.iterator = null;
        break;
      }
      if (pick(next.value[0], next.value[1])) picked.push(next.value[0]);
    }
    return picked;
  }
}
