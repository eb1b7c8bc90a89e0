/**
 * The rows of one block that a newer version of the same key does not replace, in their order.
 * For a ReplacingMergeTree(version) table whose sort key the key covers, the rows left out are the
 * ones the engine itself drops: it keeps the row of the highest version, the last one inserted on a
 * tie, and collapses a block's own rows on insert already (optimize_on_insert). Leaving them out
 * first saves encoding, parsing and sorting them, and the views that copy them.
 */
export function newestVersions<R>(rows: R[], key: (row: R) => string, version: (row: R) => number): R[] {
  const kept = new Map<string, number>();
  for (let i = 0; i < rows.length; i++) {
    const k = key(rows[i]!);
    const j = kept.get(k);
    if (j === undefined || version(rows[i]!) >= version(rows[j]!)) kept.set(k, i);
  }
  if (kept.size === rows.length) return rows;
  const keep = new Uint8Array(rows.length);
  for (const i of kept.values()) keep[i] = 1;
  return rows.filter((_, i) => keep[i] === 1);
}
