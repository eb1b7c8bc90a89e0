import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | null | undefined;

/**
 * A full garbage collection now; false when this runtime offers none.
 *
 * For after a restore: its fetch responses (kafkajs' buffers, up to 16 MiB each) outlive a few
 * young-generation collections while their records are applied, so they are promoted, and V8 frees
 * an old buffer's memory only at its next full collection. A restored service that then mostly
 * waits allocates too little to cause one: 200,000 customers restored left 120–240 MB of dead
 * buffers held for as long as the process was watched (docs/performance.md, "Restore: record
 * batches read in place"). One full collection after the restores frees them.
 *
 * Node offers `gc` only under --expose-gc; the flag set at run time is taken by contexts created
 * after it, so a fresh context's `gc` is the collector (the main context's globals are untouched).
 */
export function collectGarbage(): boolean {
  if (collect === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') collect = exposed;
    else {
      try {
        setFlagsFromString('--expose-gc');
        const gc = runInNewContext('typeof gc === "function" ? gc : null') as (() => void) | null;
        collect = gc;
      } catch {
        collect = null;
      }
    }
  }
  collect?.();
  return collect !== null && collect !== undefined;
}
