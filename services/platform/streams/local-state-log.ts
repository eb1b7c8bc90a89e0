import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from '../logging/logger.js';

/** One key's latest value in a compacted topic; null is a tombstone. */
export interface LogEntry {
  key: string;
  value: Buffer | null;
}

export interface LoadedState {
  /** Latest value per key (tombstoned keys are absent), in the order keys first appeared. */
  entries: Map<string, Buffer>;
  /** The topic offset after the last record this copy holds: read the topic from here on. */
  nextOffset: bigint;
  bytes: number;
}

/**
 * A local copy of one partition of a compacted topic, kept in the service's data directory, as
 * Kafka Streams keeps a store and a checkpoint beside each changelog: a restart reads this file and
 * then only the topic's tail from `nextOffset`, instead of the whole topic through the network.
 *
 * Invariants: records are appended only after the topic acknowledged them, and every frame carries
 * the topic offset after its records, so the copy is never ahead of the topic; appends are
 * contiguous (a caller that cannot say where its records landed must `discard()`, never skip).
 * File: frames of [u32 payload length][u32 crc32(payload)][payload]; payload = [i64 next offset]
 * [u32 entries] then per entry [u32 key bytes][key][i32 value bytes, -1 = tombstone][value]. A frame
 * torn by a kill -9 fails its length or checksum and is cut off on load.
 */
export interface LocalStateLog {
  load(): LoadedState | null;
  append(entries: readonly LogEntry[], nextOffset: bigint): void;
  /** Replaces the file with one frame holding `entries` (the compacted copy after a restore). */
  rewrite(entries: Iterable<[string, Buffer]>, nextOffset: bigint): void;
  /** Deletes the copy; the next restore reads the whole topic. Appends are ignored from now on. */
  discard(): void;
  /** Releases the file for another owner (a revoked partition, a stopping service). */
  close(): void;
}

/** Where a service keeps its local copies: DATA_DIR/state (broker.sh clears it when it formats a new broker). */
export const localStateDir = (dataDir: string): string => join(dataDir, 'state');

const FRAME_HEADER = 8;
/** Below this, a file is never compacted: a restore reads a few MiB in milliseconds. */
const COMPACT_FLOOR_BYTES = 64 * 1024 * 1024;

export function encodeFrame(entries: Iterable<LogEntry>, nextOffset: bigint): Buffer {
  const parts: Buffer[] = [];
  let count = 0;
  for (const e of entries) {
    const key = Buffer.from(e.key, 'utf8');
    const head = Buffer.allocUnsafe(8);
    head.writeUInt32BE(key.length, 0);
    parts.push(head.subarray(0, 4), key);
    head.writeInt32BE(e.value === null ? -1 : e.value.length, 4);
    parts.push(head.subarray(4, 8));
    if (e.value !== null) parts.push(e.value);
    count++;
  }
  const prefix = Buffer.allocUnsafe(12);
  prefix.writeBigInt64BE(nextOffset, 0);
  prefix.writeUInt32BE(count, 8);
  const payload = Buffer.concat([prefix, ...parts]);
  const header = Buffer.allocUnsafe(FRAME_HEADER);
  header.writeUInt32BE(payload.length, 0);
  header.writeUInt32BE(crc32(payload), 4);
  return Buffer.concat([header, payload]);
}

/** Folds every intact frame of `bytes`; `validBytes` is where the first torn or corrupt frame starts. */
export function decodeFrames(bytes: Buffer): { entries: Map<string, Buffer>; nextOffset: bigint | null; validBytes: number } {
  const entries = new Map<string, Buffer>();
  let nextOffset: bigint | null = null;
  let at = 0;
  while (at + FRAME_HEADER <= bytes.length) {
    const length = bytes.readUInt32BE(at);
    const end = at + FRAME_HEADER + length;
    if (length < 12 || end > bytes.length) break;
    const payload = bytes.subarray(at + FRAME_HEADER, end);
    if (crc32(payload) !== bytes.readUInt32BE(at + 4)) break;
    const frameOffset = payload.readBigInt64BE(0);
    const count = payload.readUInt32BE(8);
    let p = 12;
    for (let i = 0; i < count; i++) {
      const keyLength = payload.readUInt32BE(p);
      const key = payload.toString('utf8', p + 4, p + 4 + keyLength);
      p += 4 + keyLength;
      const valueLength = payload.readInt32BE(p);
      p += 4;
      if (valueLength < 0) entries.delete(key);
      else {
        // A copy: the file's buffer is dropped after loading, the values live on in the state.
        entries.set(key, Buffer.from(payload.subarray(p, p + valueLength)));
        p += valueLength;
      }
    }
    nextOffset = frameOffset;
    at = end;
  }
  return { entries, nextOffset, validBytes: at };
}

/**
 * Opens the copy at `path` for this process, or returns null when another live process holds it
 * (two instances sharing one data directory: the second restores from the topic alone). A lock
 * left by a dead process (kill -9) is taken over.
 */
export function openLocalStateLog(path: string, logger: Logger): LocalStateLog | null {
  const lockPath = `${path}.lock`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    if (!takeLock(lockPath)) {
      logger.warn({ path }, 'local state copy held by another live process; restoring from the topic alone');
      return null;
    }
  } catch (err) {
    logger.warn({ err, path }, 'local state copy unavailable; restoring from the topic alone');
    return null;
  }
  let fd: number | null = null;
  let disabled = false;
  let bytes = 0;
  let compactedBytes = 0;

  const fail = (err: unknown, what: string) => {
    logger.warn({ err, path }, `local state copy ${what} failed; it is dropped and the next restore reads the topic`);
    discard();
  };
  const openForAppend = () => {
    fd ??= openSync(path, 'a');
    return fd;
  };
  const closeFd = () => {
    if (fd !== null) closeSync(fd);
    fd = null;
  };
  const discard = () => {
    disabled = true;
    try {
      closeFd();
      rmSync(path, { force: true });
    } catch {
      // Nothing more to do: a copy that cannot be removed is cut at its first bad frame on load.
    }
  };
  const rewrite = (entries: Iterable<[string, Buffer]>, nextOffset: bigint) => {
    if (disabled) return;
    try {
      const frame = encodeFrame(
        (function* () {
          for (const [key, value] of entries) yield { key, value };
        })(),
        nextOffset,
      );
      closeFd();
      writeFileSync(`${path}.tmp`, frame);
      renameSync(`${path}.tmp`, path);
      bytes = compactedBytes = frame.length;
    } catch (err) {
      fail(err, 'rewrite');
    }
  };
  const load = (): LoadedState | null => {
    if (disabled) return null;
    try {
      let raw: Buffer;
      try {
        raw = readFileSync(path);
      } catch {
        return null; // no copy yet
      }
      const folded = decodeFrames(raw);
      if (folded.nextOffset === null) return null;
      if (folded.validBytes < raw.length) {
        const descriptor = openForAppend();
        ftruncateSync(descriptor, folded.validBytes);
        logger.warn({ path, cut: raw.length - folded.validBytes }, 'local state copy ended in a torn frame; cut off');
      }
      bytes = compactedBytes = folded.validBytes;
      return { entries: folded.entries, nextOffset: folded.nextOffset, bytes: folded.validBytes };
    } catch (err) {
      fail(err, 'load');
      return null;
    }
  };

  return {
    load,
    append(entries, nextOffset) {
      if (disabled || entries.length === 0) return;
      try {
        const frame = encodeFrame(entries, nextOffset);
        const descriptor = openForAppend();
        writeSync(descriptor, frame);
        bytes += frame.length;
        // Bounded: a copy that has grown well past its last compacted size is folded and rewritten.
        if (bytes > Math.max(COMPACT_FLOOR_BYTES, 2 * compactedBytes)) {
          closeFd();
          const folded = decodeFrames(readFileSync(path));
          if (folded.nextOffset !== null) rewrite(folded.entries, folded.nextOffset);
        }
      } catch (err) {
        fail(err, 'append');
      }
    },
    rewrite,
    discard,
    close() {
      disabled = true;
      try {
        closeFd();
        releaseLock(lockPath);
      } catch {
        // The lock names this process; once it has exited, the next owner takes it over.
      }
    },
  };
}

/** Copies this process holds: two handlers of one process never share a copy either. */
const heldHere = new Set<string>();

function takeLock(lockPath: string): boolean {
  if (heldHere.has(lockPath)) return false;
  if (!takeFileLock(lockPath)) return false;
  heldHere.add(lockPath);
  return true;
}

function releaseLock(lockPath: string): void {
  if (!heldHere.delete(lockPath)) return;
  rmSync(lockPath, { force: true });
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
