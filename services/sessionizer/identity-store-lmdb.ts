import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { open, type Database } from 'lmdb';
import type { Logger } from '../platform/logging/logger.js';
import { releaseStateLock, takeStateLock } from '../platform/streams/state-lock.js';
import { ROOT_MARK, type ParentStore } from './core/identity.js';

/**
 * Bumped when what the store keeps changes meaning: a store written by another format is dropped
 * and rebuilt from the topic (as is one that does not open, or belongs to another topic).
 * 2: string keys (lmdb's own key encoding, no Buffer per lookup) and the `children` index.
 */
const FORMAT = 'identity-graph/2';

/**
 * Ids longer than this (UTF-16 units) are keyed by their SHA-256: LMDB keys stop at 1,978 bytes,
 * and an entry of the `children` index holds two keys (lmdb's key encoding writes a unit in at
 * most 3 bytes: 300 units take at most 900).
 */
const MAX_PLAIN_KEY_UNITS = 300;
/** A digest key starts with U+0001, which no namespaced id (`u:`, `a:`, `e:`) starts with. */
const DIGEST_KEY = '\u0001';

const keyOf = (id: string): string => (id.length <= MAX_PLAIN_KEY_UNITS ? id : DIGEST_KEY + createHash('sha256').update(id).digest('base64url'));
/** The `children` index's entries of `parentKey` start with this (the length makes it a prefix of no other parent's). */
const childPrefix = (parentKey: string): string => `${parentKey.length}:${parentKey}`;
const isDigestKey = (key: string): boolean => key.charCodeAt(0) === 1;
/** A digest key's value carries its id too: `<parent length>:<parent><id>`. */
const digestValue = (parent: string, id: string): string => `${parent.length}:${parent}${id}`;
const readDigestValue = (value: string): { parent: string; id: string } => {
  const colon = value.indexOf(':');
  const length = Number(value.slice(0, colon));
  return { parent: value.slice(colon + 1, colon + 1 + length), id: value.slice(colon + 1 + length) };
};

/** Counts the entries the store reads from LMDB (a deletion's cost is asserted in reads, not time). */
export interface StoreReads {
  count: number;
}

/**
 * The identity graph's pointers (id → parent, `#` for a root) in an LMDB environment, read through
 * a bounded cache of ids (`cacheIds`). Memory: the cache (about 200 bytes an id) and LMDB's pages,
 * which are file-backed (the OS keeps the hot ones and drops the rest: RssFile, not heap or
 * anonymous RSS).
 *
 * Beside the pointers, `children` holds an entry `<parent key length>:<parent key><child key>`
 * for every pointer ever written to a parent that is not a root mark, so a deletion walks a
 * component from its root in proportion to its members instead of scanning every pointer. Entries
 * are added, never moved: a pointer that path compression or a merge redirected leaves its old
 * entry behind. That is safe because components only ever join (a deletion removes a whole one):
 * an old parent is still in its child's component, so the walk finds exactly the component, some
 * members twice. A deletion removes each member's own entries with it. Cost: one more write per
 * pointer to a non-root, and the stale entries (at most one per redirect) on disk. (A dupSort
 * database was tried first: lmdb-js' getValues inside a write transaction read a garbage key now
 * and then, "cannot be converted to a BigInt"; ranges, which the store read in write transactions
 * before, have not.)
 *
 * Writes go only into the transaction `IdentityStoreLmdb.commit` runs (one per batch of
 * identity-links, with the offset it covers): a write outside one throws, so nothing is ever
 * written behind the offset's back. They are gathered during the commit and written at its end;
 * the cache takes them once written and is dropped if a commit fails.
 */
class LmdbParentStore implements ParentStore {
  /**
   * The cache: two generations of at most cacheIds / 2 ids each (null: looked up and absent; a new
   * id is asked for several times before its first link). A hit in the old generation moves to the
   * young one; a full young generation becomes the old one and the old one goes. An LRU within a
   * factor of two, without deleting from the middle of a Map (V8 then walks its holes on every
   * eviction: 3 s of 5 in a profile).
   */
  private young = new Map<string, string | null>();
  private old = new Map<string, string | null>();
  /** What the open commit changed (null: deleted), read before the cache and LMDB. */
  private readonly dirty = new Map<string, string | null>();
  /** The index entries the last walk (`component`) read, by key, until the next write: what its deletes remove. */
  private readonly walked = new Map<string, string[]>();
  writable = false;

  constructor(
    private readonly db: Database<string, string>,
    private readonly children: Database<string, string>,
    private readonly cacheIds: number,
    private readonly reads: StoreReads,
  ) {}

  get size(): number {
    return (this.db.getStats() as { entryCount: number }).entryCount;
  }

  get(id: string): string | undefined {
    const written = this.dirty.get(id);
    if (written !== undefined) return written ?? undefined;
    const young = this.young.get(id);
    if (young !== undefined) return young ?? undefined;
    const old = this.old.get(id);
    if (old !== undefined) {
      this.remember(id, old);
      return old ?? undefined;
    }
    const key = keyOf(id);
    this.reads.count++;
    const raw = this.db.get(key);
    const parent = raw === undefined ? undefined : isDigestKey(key) ? readDigestValue(raw).parent : raw;
    // Inside a commit an absent id is about to be written (a link registers it), and the write
    // enters the cache: remembering the miss too would cost a second entry per new id.
    if (parent !== undefined || !this.writable) this.remember(id, parent ?? null);
    return parent;
  }

  set(id: string, parent: string): void {
    this.mustWrite();
    this.dirty.set(id, parent);
  }

  /**
   * The pointer goes at the commit's end; the id's index entries go now, so that a link that
   * brings the id back later in the same commit starts it without its old children (the entries
   * the deletion's walk read are removed without reading them again).
   */
  delete(id: string): void {
    this.mustWrite();
    this.dirty.set(id, null);
    const key = keyOf(id);
    for (const entry of this.walked.get(key) ?? [...this.childEntries(key)]) this.children.removeSync(entry);
    this.walked.delete(key);
  }

  /**
   * Writes what the commit changed, once per id (an id registered as a root and linked in the
   * same batch is written once), in key order (LMDB's B-tree pages are then touched in order).
   * Runs inside the commit's transaction.
   */
  writeDirty(): void {
    const ids = [...this.dirty.keys()];
    ids.sort(); // UTF-16 order: the keys' byte order for all but a few ids, close enough for locality
    for (const id of ids) {
      const parent = this.dirty.get(id)!;
      const key = keyOf(id);
      if (parent === null) this.db.removeSync(key); // its index entries went at `delete`
      else {
        this.db.putSync(key, isDigestKey(key) ? digestValue(parent, id) : parent);
        if (!parent.startsWith(ROOT_MARK)) this.children.putSync(childPrefix(keyOf(parent)) + key, '');
      }
      // Only ids the cache holds take the new value: caching every id written churned the cache
      // through the whole topic on a rebuild (a third of the apply's CPU, with its GC).
      this.update(id, parent);
    }
    this.dirty.clear();
    this.walked.clear();
  }

  /** After a failed commit: what it wrote is gone, and what the cache holds may be too. */
  drop(): void {
    this.dirty.clear();
    this.walked.clear();
    this.young.clear();
    this.old.clear();
  }

  /**
   * The component of `root`, walked down the `children` index: one read per entry of its members
   * (stale entries included), whatever the store's size. Runs inside a commit (a deletion): the
   * commit's pointers are written first, so the index holds them.
   */
  component(root: string): string[] {
    this.mustWrite();
    this.writeDirty();
    const members = new Set([keyOf(root)]);
    const queue = [keyOf(root)];
    for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
      const prefix = childPrefix(key);
      const entries = [...this.childEntries(key)];
      this.walked.set(key, entries);
      for (const entry of entries) {
        const child = entry.slice(prefix.length);
        if (members.has(child)) continue;
        members.add(child);
        queue.push(child);
      }
    }
    return [...members].map((key) => {
      if (!isDigestKey(key)) return key;
      this.reads.count++;
      return readDigestValue(this.db.get(key)!).id;
    });
  }

  /** The `children` entries of `parentKey` (whole keys), each read counted. */
  private *childEntries(parentKey: string): Generator<string> {
    const prefix = childPrefix(parentKey);
    // The range ends where the prefix's last unit is one more (the keys' order is their code
    // points'), so the walk reads no other parent's entry; a last unit that has no next one
    // (U+FFFF, a surrogate) leaves the range open and the prefix check ends it.
    const last = prefix.charCodeAt(prefix.length - 1);
    const end = last < 0xd800 || (last > 0xdfff && last < 0xffff) ? prefix.slice(0, -1) + String.fromCharCode(last + 1) : undefined;
    for (const key of this.children.getKeys({ start: prefix, end })) {
      this.reads.count++;
      if (!key.startsWith(prefix)) return;
      yield key;
    }
  }

  private update(id: string, parent: string | null): void {
    if (this.young.has(id)) this.young.set(id, parent);
    if (this.old.has(id)) this.old.set(id, parent);
  }

  private remember(id: string, parent: string | null): void {
    if (this.young.size >= this.cacheIds / 2) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(id, parent);
    // An older value left in the old generation must not be read after this one ages out of the
    // young one (`get` reads the young one first, so it is never read before).
    if (this.old.has(id)) this.old.set(id, parent);
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
export function openIdentityStoreLmdb(o: { path: string; topic: string; cacheIds: number; logger: Logger; reads?: StoreReads }): IdentityStoreLmdb {
  mkdirSync(dirname(o.path), { recursive: true });
  const lockPath = `${o.path}.lock`;
  const locked = takeStateLock(lockPath);
  const path = locked ? o.path : mkdtempSync(`${o.path}.private-`);
  if (!locked) o.logger.warn({ path: o.path }, 'identity store held by another live process; building a private one');

  // noSync: a commit is a write into the OS page cache, not a flush (a flush per batch of
  // identity-links measured 2–9 ms of blocked event loop, docs/performance.md). A kill -9 loses
  // nothing the OS has; an OS crash may leave the file torn, so a store not closed cleanly since a
  // reboot is rebuilt from the topic (shutdown-state.json).
  // useWritemap: LMDB writes pages in the map instead of copying them out at commit (15–20% less
  // CPU per entry applied, docs/performance.md). What it costs: no child transactions (none are
  // used) and a stray native write could reach the file (lmdb-js' warning); an aborted commit still
  // leaves nothing, as its pages are free ones until the commit lands.
  const dataFile = join(path, 'data.mdb');
  const shutdownFile = join(path, 'shutdown-state.json');
  if (existsSync(dataFile) && !survivedLastShutdown(shutdownFile)) {
    o.logger.warn({ path }, 'identity store was not closed cleanly before a reboot; rebuilding from the topic');
    rmSync(path, { recursive: true, force: true });
  }
  const openEnv = () => {
    const env = open({ path, noSubdir: false, maxDbs: 4, noSync: true, useWritemap: true });
    const ids = env.openDB<string, string>({ name: 'ids', encoding: 'string' });
    const children = env.openDB<string, string>({ name: 'children', encoding: 'string' });
    const meta = env.openDB<string, string>({ name: 'meta', encoding: 'string' });
    return { env, ids, children, meta };
  };
  let opened: ReturnType<typeof openEnv>;
  if (!looksLikeLmdb(dataFile)) {
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
        opened.children.clearSync();
        opened.meta.clearSync();
      });
    }
  } catch (err) {
    o.logger.warn({ err, path }, 'identity store does not open; rebuilding from the topic');
    rmSync(path, { recursive: true, force: true });
    opened = openEnv();
  }
  const { env, ids, children, meta } = opened as ReturnType<typeof openEnv>;
  env.transactionSync(() => {
    void meta.put('format', FORMAT);
    void meta.put('topic', o.topic);
  });
  writeDurably(shutdownFile, JSON.stringify({ bootId: bootId(), clean: false }));
  const parents = new LmdbParentStore(ids, children, o.cacheIds, o.reads ?? { count: 0 });
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
          apply({ setMarker: (key, value) => void (value === null ? meta.removeSync(MARKER + key) : meta.putSync(MARKER + key, value)) });
          parents.writeDirty();
          meta.putSync('applied', appliedOffset.toString());
        });
      } catch (err) {
        parents.drop(); // it may hold what the aborted transaction wrote
        throw err;
      } finally {
        parents.writable = false;
      }
    },
    clear() {
      env.transactionSync(() => {
        ids.clearSync();
        children.clearSync();
        meta.clearSync();
        void meta.put('format', FORMAT);
        void meta.put('topic', o.topic);
      });
      parents.drop();
    },
    async close() {
      await env.close();
      if (existsSync(dataFile)) {
        const fd = openSync(dataFile, 'r+');
        fsyncSync(fd);
        closeSync(fd);
        writeDurably(shutdownFile, JSON.stringify({ bootId: bootId(), clean: true }));
      }
      if (locked) releaseStateLock(lockPath);
      else rmSync(path, { recursive: true, force: true });
    },
  };
}

/** This boot of the machine (Linux); '' elsewhere, where a reboot goes unnoticed. */
function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * Whether the store's last writes are all in its file: it was closed cleanly (and flushed), or the
 * machine has not rebooted since (a kill -9 leaves every commit in the OS page cache).
 */
function survivedLastShutdown(shutdownFile: string): boolean {
  try {
    const state = JSON.parse(readFileSync(shutdownFile, 'utf8')) as { bootId?: string; clean?: boolean };
    return state.clean === true || state.bootId === bootId();
  } catch {
    return false;
  }
}

/** A torn write reads as unparsable, which `survivedLastShutdown` takes as not clean: a rebuild. */
function writeDurably(file: string, text: string): void {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
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


