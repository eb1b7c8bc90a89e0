import { readForgetMarker } from '../../platform/privacy/forget-marker.js';
import type { ForgottenIds } from '../../platform/privacy/forgotten-ids.js';

/**
 * What a deletion writes to identity-links (writer/forget/forget-records.ts), applied to one
 * instance's table: a forget marker adds the id's hash to `forgotten` (the router drops its
 * touchpoints from then on), and a tombstone of an id removes its whole component from the graph
 * (the links go; compaction later removes them from the topic). Returns whether the entry was one
 * of these. The markers precede the tombstones in one append, so by the time the links go, no
 * touchpoint of the customer can link them again.
 */
export function applyForgetEntry(key: string, value: string | null, table: { graph: { forgetComponent(id: string): string[] }; forgotten: ForgottenIds }): boolean {
  if (value === null) {
    if (!key.startsWith('@')) table.graph.forgetComponent(key);
    return true;
  }
  const marker = readForgetMarker(key, value);
  if (marker === null) return false;
  table.forgotten.add(marker.idHash, marker.entry);
  return true;
}
