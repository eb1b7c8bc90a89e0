import { readFileSync, rmSync, writeFileSync } from 'node:fs';

/**
 * A lock file beside a piece of local state (a changelog copy, the identity store): it names its
 * holder's pid, and a lock whose process is gone is taken over. Two processes on one data directory,
 * or two owners in one process, never share the state: the second goes without it.
 */

/** Locks this process holds: two owners in one process never share a lock either. */
const heldHere = new Set<string>();

export function takeStateLock(lockPath: string): boolean {
  if (heldHere.has(lockPath)) return false;
  if (!takeFileLock(lockPath)) return false;
  heldHere.add(lockPath);
  return true;
}

export function releaseStateLock(lockPath: string): void {
  if (heldHere.delete(lockPath)) rmSync(lockPath, { force: true });
}

function takeFileLock(lockPath: string): boolean {
  try {
    writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const holder = Number(readFileSync(lockPath, 'utf8').trim());
  // This pid with no entry in heldHere: a lock left by an earlier process that had this pid.
  if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) return false;
  writeFileSync(lockPath, String(process.pid));
  return true;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
