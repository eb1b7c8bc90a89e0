import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { Logger } from '../platform/logging/logger.js';
import type { ParentStore } from './core/identity.js';

/**
 * Bumped when what the store keeps changes meaning: a store written by another format is dropped
 * and rebuilt from the topic (as is one that does not open, or belongs to another topic).
 */
const FORMAT = 'identity-graph/1';

/** Ids longer than this (UTF-8 bytes) are keyed by their SHA-256: LMDB keys stop at 1,978 bytes. */
const MAX_PLAIN_KEY_BYTES = 1_024;
/** The first byte of a digest key: 0xff never starts a UTF-8 sequence, so no plain key has it. */
const DIGEST_KEY = 0xff;

const keyOf = (id: string): Buffer => {
  const plain = Buffer.from(id, 'utf8');
  if (plain.length <= MAX_PLAIN_KEY_BYTES) return plain;
  return Buffer.concat([Buffer.from([DIGEST_KEY]), createHash('sha256').update(plain).digest()]);
};
const isDigestKey = (key: Buffer): boolean => key[0] === DIGEST_KEY;
/** A digest key's value carries its id too: `<parent length>:<parent><id>`. */
const digestValue = (parent: string, id: string): string => `${parent.length}:${parent}${id}`;
const readDigestValue = (value: string): { parent: string; id: string } => {
  const colon = value.indexOf(':');
  const length = Number(value.slice(0, colon));
  return { parent: value.slice(colon + 1, colon + 1 + length), id: value.slice(colon + 1 + length) };
};

/**
 * The identity graph's pointers (id → parent, `#` for a root) in an LMDB environment, read through
 * a bounded LRU of ids (`cacheIds`). Memory: the cache (about 200 bytes an id) and LMDB's pages,
 * which are file-backed (the OS keeps the hot ones and drops the rest: RssFile, not heap or
 * anonymous RSS).
 *
 * Writes go only into the transaction `IdentityStoreLmdb.commit` runs (one per batch of
 * identity-links, with the offset it covers): a write outside one throws, so nothing is ever
 * written behind the offset's back. The cache is written through and dropped if a commit fails.
 */
class LmdbParentStore implements ParentStore {
  /** null: looked up and absent (a new id is asked for several times before its first link). */
  private readonly cache = new Map<string, string | null>();
  writable = false;

  constructor(
    private readonly db: Database<string, Buffer>,
    private readonly cacheIds: number,
  ) {}

  get size(): number {
    return (this.db.getStats() as { entryCount: number }).entryCount;
  }

  get(id: string): string | undefined {
    const cached = this.cache.get(id);
    if (cached !== undefined) {
      this.cache.delete(id); // most recent last
      this.cache.set(id, cached);
      return cached ?? undefined;
    }
    const key = keyOf(id);
    const raw = this.db.get(key);
    const parent = raw === undefined ? undefined : isDigestKey(key) ? readDigestValue(raw).parent : raw;
    this.remember(id, parent ?? null);
    return parent;
  }

  set(id: string, parent: string): void {
    this.mustWrite();
    const key = keyOf(id);
    void this.db.put(key, isDigestKey(key) ? digestValue(parent, id) : parent); // inside the transaction: immediate
    this.remember(id, parent);
  }

  delete(id: string): void {
    this.mustWrite();
    void this.db.remove(keyOf(id));
    this.remember(id, null);
  }

  *ids(): Iterable<string> {
    for (const { key, value } of this.db.getRange()) yield isDigestKey(key as Buffer) ? readDigestValue(value).id : (key as Buffer).toString('utf8');
  }

  dropCache(): void {
    this.cache.clear();
  }

  private remember(id: string, parent: string | null): void {
    this.cache.delete(id);
    this.cache.set(id, parent);
    if (this.cache.size > this.cacheIds) this.cache.delete(this.cache.keys().next().value!);
  }

  private mustWrite(): void {
    if (!this.writable) throw new Error('identity store written outside a commit');
  }
}

/** What a commit may write besides pointers: the topic's non-link entries (router and forget markers). */
export interface IdentityStoreWrites {
  setMarker(key: string, value: string | null): void;
}

export interface IdentityStoreLmdb {
  readonly parents: ParentStore;
  /** The last identity-links offset the store holds (all entries up to it, none after), or -1n. */
  readonly appliedOffset: bigint;
  /** The non-link entries held (`@router-applied:<p>`, `@forgotten:<hash>`), to apply at start. */
  markers(): Array<[string, string]>;
  /**
   * Runs `apply` (which writes pointers and markers) and records `appliedOffset` in ONE LMDB
   * transaction: a kill -9 leaves the store at a previous commit or this one, never with the
   * offset ahead of the entries it covers. Returns when it is committed (visible; durable on disk
   * a moment later, lmdb-js' overlappingSync, which after an OS crash goes back to the last commit
   * that was flushed, still a whole one).
   */
  commit(appliedOffset: bigint, apply: (writes: IdentityStoreWrites) => void): void;
  /** Empties the store (a rebuild from the topic). */
  clear(): void;
  close(): Promise<void>;
}

/**
 * Opens (or creates) the store of `topic` at `path` (a directory). A store that does not open, was
 * written in another format or for another topic is removed and started empty: the topic has it
 * all. Another live process holding `path` (two instances sharing a data directory): this one
 * builds a private store in a temporary directory beside it, removed at close.
 */
export function openIdentityStoreLmdb(o: { path: string; topic: string; cacheIds: number; logger: Logger }): IdentityStoreLmdb {
  mkdirSync(dirname(o.path), { recursive: true });
  const lockPath = `${o.path}.lock`;
  const locked = takeLock(lockPath);
  const path = locked ? o.path : mkdtempSync(`${o.path}.private-`);
  if (!locked) o.logger.warn({ path: o.path }, 'identity store held by another live process; building a private one');

  const openEnv = () => {
    const env = open({ path, noSubdir: false, maxDbs: 4 });
    const ids = env.openDB<string, Buffer>({ name: 'ids', keyEncoding: 'binary', encoding: 'string' });
    const meta = env.openDB<string, string>({ name: 'meta', encoding: 'string' });
    return { env, ids, meta };
  };
  let opened: ReturnType<typeof openEnv>;
  if (!looksLikeLmdb(join(path, 'data.mdb'))) {
    o.logger.warn({ path }, 'identity store file is not an LMDB file (truncated or overwritten); rebuilding from the topic');
    rmSync(path, { recursive: true, force: true });
  }
  try {
    opened = openEnv();
    const format = opened.meta.get('format');
    const topic = opened.meta.get('topic');
    if (format !== undefined && (format !== FORMAT || topic !== o.topic)) {
      o.logger.warn({ format, topic }, 'identity store from another format or topic; rebuilding from the topic');
      opened.env.transactionSync(() => {
        opened.ids.clearSync();
        opened.meta.clearSync();
      });
    }
  } catch (err) {
    o.logger.warn({ err, path }, 'identity store does not open; rebuilding from the topic');
    rmSync(path, { recursive: true, force: true });
    opened = openEnv();
  }
  const { env, ids, meta } = opened as ReturnType<typeof openEnv>;
  env.transactionSync(() => {
    void meta.put('format', FORMAT);
    void meta.put('topic', o.topic);
  });
  const parents = new LmdbParentStore(ids, o.cacheIds);
  const MARKER = 'marker:';

  return {
    parents,
    get appliedOffset() {
      const v = meta.get('applied');
      return v === undefined ? -1n : BigInt(v);
    },
    markers() {
      const out: Array<[string, string]> = [];
      for (const { key, value } of meta.getRange({ start: MARKER })) {
        if (!key.startsWith(MARKER)) break;
        out.push([key.slice(MARKER.length), value]);
      }
      return out;
    },
    commit(appliedOffset, apply) {
      try {
        env.transactionSync(() => {
          parents.writable = true;
          apply({ setMarker: (key, value) => void (value === null ? meta.remove(MARKER + key) : meta.put(MARKER + key, value)) });
          void meta.put('applied', appliedOffset.toString());
        });
      } catch (err) {
        parents.dropCache(); // it may hold what the aborted transaction wrote
        throw err;
      } finally {
        parents.writable = false;
      }
    },
    clear() {
      env.transactionSync(() => {
        ids.clearSync();
        meta.clearSync();
        void meta.put('format', FORMAT);
        void meta.put('topic', o.topic);
      });
      parents.dropCache();
    },
    async close() {
      await env.close();
      if (locked) releaseLock(lockPath);
      else rmSync(path, { recursive: true, force: true });
    },
  };
}

/** LMDB's two meta pages start with this (little-endian), after a 24-byte page header. */
const META_MAGIC = 0xbeefc0de;

/**
 * Whether `file` (if it exists) starts with LMDB's two meta pages. LMDB trusts its file: opening
 * garbage crashes the process (SIGSEGV) instead of throwing, so a file that is not one is removed
 * before it is opened. Deeper damage (a bad page inside a valid file) is not detected: README says
 * to delete the store's directory then, and the next start rebuilds it from the topic.
 */
function looksLikeLmdb(file: string): boolean {
  if (!existsSync(file)) return true;
  const head = Buffer.alloc(16_384 + 32);
  const fd = openSync(file, 'r');
  let read: number;
  try {
    read = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const magicAt = (offset: number) => read >= offset + 4 && head.readUInt32LE(offset) === META_MAGIC;
  return magicAt(24) && (magicAt(4_096 + 24) || magicAt(16_384 + 24));
}

/** Lock files this process holds (a second instance in one process must not share the store). */
const heldHere = new Set<string>();

/** The lock names its holder's pid; a lock whose process is gone is taken over. */
function takeLock(lockPath: string): boolean {
  if (heldHere.has(lockPath)) return false;
  try {
    writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
  } catch {
    const holder = Number(readFileSync(lockPath, 'utf8').trim());
    if (holder !== process.pid && alive(holder)) return false;
    writeFileSync(lockPath, String(process.pid));
  }
  heldHere.add(lockPath);
  return true;
}

function releaseLock(lockPath: string): void {
  if (heldHere.delete(lockPath)) rmSync(lockPath, { force: true });
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
