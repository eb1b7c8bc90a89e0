import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from '../logging/logger.js';
import { releaseStateLock, takeStateLock } from './state-lock.js';

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
  /**
   * Streams the copy's entries in order (null: a tombstone) to `onEntry`, without folding them in
   * memory first, if `accept` takes the offset the copy reaches (it is checked first); a value is a
   * view into the file's bytes, to be copied if kept. Returns that offset (the topic is read from
   * there), or null when there is no copy. A torn end is cut off, as by `load`.
   */
  replay(accept: (nextOffset: bigint) => boolean, onEntry: (key: string, value: Buffer | null) => void): bigint | null;
  /** Replaces the file with one frame holding `entries`. */
  rewrite(entries: Iterable<[string, Buffer]>, nextOffset: bigint): void;
  /**
   * Writes a copy as a restore reads it, in frames of about a MiB: `fresh` builds a new file beside
   * this one and puts it in place at `finish` (until then the old one stays); `append` adds frames
   * to this one (after a `replay`, the restore's tail).
   */
  writer(mode: 'fresh' | 'append'): StateCopyWriter;
  /** Deletes the copy; the next restore reads the whole topic. Appends are ignored from now on. */
  discard(): void;
  /** Releases the file for another owner (a revoked partition, a stopping service). */
  close(): void;
}

/** A copy being written by a restore; every method does nothing once the copy is discarded. */
export interface StateCopyWriter {
  /** One committed entry (null: a tombstone), copied at once. */
  add(key: string, value: Uint8Array | null): void;
  /** Everything added so far is the topic's state up to `nextOffset`: a frame may end here. */
  commit(nextOffset: bigint | number): void;
  /**
   * While more than a few MiB of frames wait to be written: a promise of the writes so far, to be
   * awaited before reading on (the frames are copies of what was read: a slow disk would otherwise
   * hold the changelog in memory). Undefined when there is room.
   */
  backlog(): Promise<void> | undefined;
  /** Writes the rest as the state up to `nextOffset` and waits for every write; a fresh copy takes the file's place. */
  finish(nextOffset: bigint): Promise<void>;
  /** Drops a fresh copy unfinished (the file stays as it was), once the writes under way are done. */
  abandon(): Promise<void>;
}

/** Where a service keeps its local copies: DATA_DIR/state (broker.sh clears it when it formats a new broker). */
export const localStateDir = (dataDir: string): string => join(dataDir, 'state');

const FRAME_HEADER = 8;
const EMPTY = Buffer.alloc(0);
/** A restore's copy is written in frames of about this size (one write each). */
const WRITER_FRAME_BYTES = 1024 * 1024;
/** Frames a restore's copy may have waiting for the disk before the restore waits for them. */
const WRITER_BACKLOG_BYTES = 8 * 1024 * 1024;
/** Below this, a file is never compacted: a restore reads a few MiB in milliseconds. */
const COMPACT_FLOOR_BYTES = 64 * 1024 * 1024;

export interface LocalStateLogOptions {
  /** Below this size the file is never compacted (default 64 MiB; tests compact small files). */
  compactFloorBytes?: number;
}

/**
 * Builds one frame from entries added one at a time, each copied in as it is added (so a value
 * that is a view into a larger buffer, a consumer's fetch, is not kept), into one growing buffer:
 * no allocation per entry.
 */
export class FrameBuilder {
  /** Empty between frames: the next frame's buffer is allocated by its first entry. */
  private bytes = EMPTY;
  /** The size the next buffer starts at: the last frame's, so a frame is grown once at most. */
  private capacity = 64 * 1024;
  private pos = FRAME_HEADER + 12;
  private count = 0;

  add(key: string, value: Uint8Array | null): void {
    // At most 3 bytes a UTF-16 unit in UTF-8: room without measuring the key first.
    this.reserve(8 + 3 * key.length + (value?.length ?? 0));
    const keyLength = this.bytes.write(key, this.pos + 4, 'utf8');
    this.bytes.writeUInt32BE(keyLength, this.pos);
    this.pos += 4 + keyLength;
    this.bytes.writeInt32BE(value === null ? -1 : value.length, this.pos);
    this.pos += 4;
    if (value !== null) {
      this.bytes.set(value, this.pos);
      this.pos += value.length;
    }
    this.count++;
  }

  /** Bytes the frame would take now. */
  get size(): number {
    return this.pos;
  }

  get entries(): number {
    return this.count;
  }

  /**
   * The frame of everything added, and starts empty again. The frame is the builder's buffer
   * handed over, not a copy (a restore's frames were each copied once more to be written).
   */
  take(nextOffset: bigint): Buffer {
    this.reserve(0);
    const payload = this.bytes.subarray(FRAME_HEADER, this.pos);
    payload.writeBigInt64BE(nextOffset, 0);
    payload.writeUInt32BE(this.count, 8);
    this.bytes.writeUInt32BE(payload.length, 0);
    this.bytes.writeUInt32BE(crc32(payload), 4);
    const frame = this.bytes.subarray(0, this.pos);
    this.capacity = this.bytes.length;
    this.bytes = EMPTY;
    this.pos = FRAME_HEADER + 12;
    this.count = 0;
    return frame;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, this.pos + n, this.capacity));
    if (this.bytes.length > 0) this.bytes.copy(grown, 0, 0, this.pos);
    this.bytes = grown;
  }
}

export function encodeFrame(entries: Iterable<LogEntry>, nextOffset: bigint): Buffer {
  const frame = new FrameBuilder();
  for (const e of entries) frame.add(e.key, e.value);
  return frame.take(nextOffset);
}

/**
 * Calls `onEntry` for every entry of every intact frame of `bytes`, in order (null: a tombstone);
 * the value is a view into `bytes`. Returns the offset after the last intact frame (null: none)
 * and where the first torn or corrupt frame starts.
 */
export function forEachFrameEntry(bytes: Buffer, onEntry: (key: string, value: Buffer | null) => void): { nextOffset: bigint | null; validBytes: number } {
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
      if (valueLength < 0) onEntry(key, null);
      else {
        onEntry(key, payload.subarray(p, p + valueLength));
        p += valueLength;
      }
    }
    nextOffset = frameOffset;
    at = end;
  }
  return { nextOffset, validBytes: at };
}

/** Folds every intact frame of `bytes`; `validBytes` is where the first torn or corrupt frame starts. */
export function decodeFrames(bytes: Buffer): { entries: Map<string, Buffer>; nextOffset: bigint | null; validBytes: number } {
  const entries = new Map<string, Buffer>();
  // A copy of each value: the file's buffer is dropped after loading, the values live on in the state.
  const { nextOffset, validBytes } = forEachFrameEntry(bytes, (key, value) => (value === null ? entries.delete(key) : entries.set(key, Buffer.from(value))));
  return { entries, nextOffset, validBytes };
}

/**
 * Opens the copy at `path` for this process, or returns null when another live process holds it
 * (two instances sharing one data directory: the second restores from the topic alone). A lock
 * left by a dead process (kill -9) is taken over.
 */
export function openLocalStateLog(path: string, logger: Logger, options: LocalStateLogOptions = {}): LocalStateLog | null {
  const compactFloorBytes = options.compactFloorBytes ?? COMPACT_FLOOR_BYTES;
  const lockPath = `${path}.lock`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    if (!takeStateLock(lockPath)) {
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
  /** Reads the file through `read` (a fold of its frames), cutting off a torn end; null: no copy. */
  const readCopy = <T extends { nextOffset: bigint | null; validBytes: number }>(read: (raw: Buffer) => T): T | null => {
    if (disabled) return null;
    try {
      let raw: Buffer;
      try {
        raw = readFileSync(path);
      } catch {
        return null; // no copy yet
      }
      const folded = read(raw);
      if (folded.nextOffset === null) return null;
      if (folded.validBytes < raw.length) {
        const descriptor = openForAppend();
        ftruncateSync(descriptor, folded.validBytes);
        logger.warn({ path, cut: raw.length - folded.validBytes }, 'local state copy ended in a torn frame; cut off');
      }
      bytes = compactedBytes = folded.validBytes;
      return folded;
    } catch (err) {
      fail(err, 'load');
      return null;
    }
  };
  const load = (): LoadedState | null => {
    const folded = readCopy(decodeFrames);
    return folded === null ? null : { entries: folded.entries, nextOffset: folded.nextOffset!, bytes: folded.validBytes };
  };
  /** Bounded: a copy that has grown well past its last compacted size is folded and rewritten. */
  const compactIfGrown = () => {
    if (bytes <= Math.max(compactFloorBytes, 2 * compactedBytes)) return;
    closeFd();
    const folded = decodeFrames(readFileSync(path));
    if (folded.nextOffset !== null) rewrite(folded.entries, folded.nextOffset);
  };
  const writer = (mode: 'fresh' | 'append'): StateCopyWriter => {
    const frame = new FrameBuilder();
    const tmp = `${path}.tmp`;
    // Frames are written off the main thread (the libuv pool), in order, each after the one before:
    // a synchronous write of each MiB held the restore's decoding and applying (1.8 s of 9 in a
    // 200,000-customer restore under load). Its own descriptor: no other write shares it.
    let file: FileHandle | null = null;
    let writes: Promise<void> = Promise.resolve();
    let queuedBytes = 0;
    let written = 0;
    let stopped = false;
    const stop = (err: unknown, what: string) => {
      if (stopped) return;
      stopped = true;
      fail(err, what);
    };
    const queue = (nextOffset: bigint) => {
      const bytesOfFrame = frame.take(nextOffset);
      queuedBytes += bytesOfFrame.length;
      writes = writes.then(async () => {
        try {
          if (disabled || stopped) return;
          file ??= await open(mode === 'append' ? path : tmp, mode === 'append' ? 'a' : 'w');
          await file.writeFile(bytesOfFrame); // all of it, at the handle's position
          written += bytesOfFrame.length;
          if (mode === 'append') bytes += bytesOfFrame.length;
        } catch (err) {
          stop(err, 'write');
        } finally {
          queuedBytes -= bytesOfFrame.length;
        }
      });
    };
    const closeFile = async () => {
      const f = file;
      file = null;
      await f?.close();
    };
    const guard = (act: () => void) => {
      if (disabled || stopped) return;
      try {
        act();
      } catch (err) {
        stop(err, 'write');
      }
    };
    return {
      add: (key, value) => guard(() => frame.add(key, value)),
      commit: (nextOffset) => guard(() => (frame.size >= WRITER_FRAME_BYTES ? queue(BigInt(nextOffset)) : undefined)),
      backlog: () => (queuedBytes > WRITER_BACKLOG_BYTES ? writes : undefined),
      async finish(nextOffset) {
        guard(() => (frame.entries > 0 || (mode === 'fresh' && written + queuedBytes === 0) ? queue(nextOffset) : undefined));
        await writes;
        try {
          await closeFile();
          if (disabled || stopped) {
            if (mode === 'fresh') rmSync(tmp, { force: true });
            return;
          }
          if (mode === 'append') return compactIfGrown();
          closeFd();
          renameSync(tmp, path);
          bytes = compactedBytes = written;
        } catch (err) {
          stop(err, mode === 'fresh' ? 'rewrite' : 'append');
        }
      },
      async abandon() {
        stopped = true; // frames still queued are not written
        await writes;
        await closeFile().catch(() => undefined);
        if (mode === 'fresh') rmSync(tmp, { force: true });
      },
    };
  };

  return {
    load,
    replay: (accept, onEntry) =>
      readCopy((raw) => {
        const scan = forEachFrameEntry(raw, () => {});
        if (scan.nextOffset !== null && accept(scan.nextOffset)) forEachFrameEntry(raw.subarray(0, scan.validBytes), onEntry);
        return scan;
      })?.nextOffset ?? null,
    writer,
    append(entries, nextOffset) {
      if (disabled || entries.length === 0) return;
      try {
        const frame = encodeFrame(entries, nextOffset);
        const descriptor = openForAppend();
        writeSync(descriptor, frame);
        bytes += frame.length;
        compactIfGrown();
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
        releaseStateLock(lockPath);
      } catch {
        // The lock names this process; once it has exited, the next owner takes it over.
      }
    },
  };
}
