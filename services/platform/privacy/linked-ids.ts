/** At most this many ids are gathered for one deletion (a bigger component is a data problem: reported, not erased blindly). */
export const MAX_LINKED_IDS = 10_000;

/** Keys of identity-links that are not ids: router markers, forget markers. Ids are `u:`, `a:`, `e:`. */
const isIdKey = (key: string) => !key.startsWith('@');

/**
 * The identity-links topic folded to its latest value per key (a tombstone removes the key), as
 * the compacted topic will read once compaction ran.
 */
export function foldLinkEntries(records: Iterable<{ key: string; value: string | null }>): Map<string, string> {
  const entries = new Map<string, string>();
  for (const { key, value } of records) {
    if (!isIdKey(key)) continue;
    if (value === null) entries.delete(key);
    else entries.set(key, value);
  }
  return entries;
}

/**
 * Undirected adjacency of the id → parent entries (`#…` marks a root): two ids are linked when one
 * is the other's parent, so a connected component here is a customer of the identity graph
 * (services/sessionizer/core/identity.ts), whatever path compression did to the pointers.
 */
export function linkAdjacency(entries: ReadonlyMap<string, string>): Map<string, string[]> {
  const adjacency = new Map<string, string[]>();
  const edge = (a: string, b: string) => {
    const list = adjacency.get(a);
    if (list) list.push(b);
    else adjacency.set(a, [b]);
  };
  for (const [id, parent] of entries) {
    if (parent.startsWith('#') || parent === id) continue;
    edge(id, parent);
    edge(parent, id);
  }
  return adjacency;
}

/** Every id linked to `start` (start included), breadth first, at most MAX_LINKED_IDS. */
export function componentOf(adjacency: ReadonlyMap<string, readonly string[]>, start: string): string[] {
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length > 0 && seen.size < MAX_LINKED_IDS) {
    for (const next of adjacency.get(queue.shift()!) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      queue.push(next);
    }
  }
  return [...seen];
}
