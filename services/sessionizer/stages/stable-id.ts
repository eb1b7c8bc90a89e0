import { createHash } from 'node:crypto';

/**
 * A deterministic id from its parts, so replaying the same input yields the same ids and
 * downstream ReplacingMergeTree tables collapse duplicates. 128 bits of SHA-1: collisions are not
 * a concern at pipeline scale, and SHA-1 is the cheapest digest node ships with that width.
 */
export function stableId(...parts: ReadonlyArray<string | number | null>): string {
  const hash = createHash('sha1');
  for (const part of parts) hash.update(part === null ? '\u0000' : String(part)).update('\u001f');
  return hash.digest('hex').slice(0, 32);
}
