import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import pino from 'pino';
import { IdentityGraph } from './core/identity.js';
import { openIdentityStoreLmdb, type IdentityStoreLmdb } from './identity-store-lmdb.js';

const logger = pino({ level: 'silent' });
const dirs: string[] = [];
const opened: IdentityStoreLmdb[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'identity-store-'));
  dirs.push(d);
  return d;
};
const openAt = (path: string, o: { topic?: string; cacheIds?: number } = {}) => {
  const store = openIdentityStoreLmdb({ path, topic: o.topic ?? 'identity-links', cacheIds: o.cacheIds ?? 1_000, logger });
  opened.push(store);
  return store;
};
const close = async (store: IdentityStoreLmdb) => {
  opened.splice(opened.indexOf(store), 1);
  await store.close();
};

/** A store with a cache far smaller than the ids, and two graphs to compare: in memory, and on the store. */
function graphsToCompare() {
  const store = openIdentityStoreLmdb({ path: join(tmp(), 'links.lmdb'), topic: 't', cacheIds: 8, logger });
  return { name: (n: number) => `${'uea'[n % 3]}:${n}`, store, memory: new IdentityGraph(), disk: new IdentityGraph(store.parents) };
}

describe('the lmdb identity store', () => {
  it('keeps pointers, markers and the offset of one commit together across a reopen', async () => {
    const path = join(tmp(), 'links.lmdb');
    const store = openAt(path);
    expect(store.appliedOffset).toBe(-1n);
    store.commit(41n, (writes) => {
      const graph = new IdentityGraph(store.parents);
      graph.apply({ a: 'u:ann', b: 'a:phone' });
      graph.apply({ a: 'e:h', b: 'a:phone' });
      writes.setMarker('@router-applied:3', '17@1000');
      writes.setMarker('@forgotten:abc', '{}');
    });
    store.commit(42n, (writes) => writes.setMarker('@forgotten:abc', null));
    await close(store);
    const again = openAt(path);
    expect(again.appliedOffset).toBe(42n);
    expect(again.markers()).toEqual([['@router-applied:3', '17@1000']]);
    const graph = new IdentityGraph(again.parents);
    expect(graph.resolve('a:phone')).toBe('u:ann');
    expect(graph.resolve('e:h')).toBe('u:ann');
    expect(graph.size).toBe(3);
  });

  it('keeps nothing of a commit that fails, neither its pointers nor its offset (nor in its cache)', () => {
    const store = openAt(join(tmp(), 'links.lmdb'));
    store.commit(1n, () => new IdentityGraph(store.parents).apply({ a: 'u:ann', b: 'a:1' }));
    expect(() =>
      store.commit(2n, () => {
        new IdentityGraph(store.parents).apply({ a: 'u:bob', b: 'a:1' });
        throw new Error('mid-batch');
      }),
    ).toThrow('mid-batch');
    expect(store.appliedOffset).toBe(1n);
    expect(store.parents.get('u:bob')).toBeUndefined();
    expect(new IdentityGraph(store.parents).resolve('a:1')).toBe('u:ann');
  });

  it('refuses a write outside a commit', () => {
    const store = openAt(join(tmp(), 'links.lmdb'));
    expect(() => store.parents.set('a:1', '#')).toThrow('outside a commit');
  });

  it('starts empty when the store was written for another topic or its file is not an LMDB file', async () => {
    const dir = tmp();
    const path = join(dir, 'links.lmdb');
    const first = openAt(path, { topic: 'one' });
    first.commit(5n, () => new IdentityGraph(first.parents).apply({ a: 'u:ann', b: 'a:1' }));
    await close(first);
    const other = openAt(path, { topic: 'two' });
    expect(other.appliedOffset).toBe(-1n);
    expect(other.parents.get('a:1')).toBeUndefined();
    other.commit(7n, () => new IdentityGraph(other.parents).apply({ a: 'u:bob', b: 'a:2' }));
    await close(other);
    writeFileSync(join(path, 'data.mdb'), 'not an lmdb file, a truncated one');
    const rebuilt = openAt(path, { topic: 'two' });
    expect(rebuilt.appliedOffset).toBe(-1n);
    rebuilt.commit(0n, () => new IdentityGraph(rebuilt.parents).apply({ a: 'u:z', b: 'a:z' }));
    expect(new IdentityGraph(rebuilt.parents).resolve('a:z')).toBe('u:z');
    await close(rebuilt);
    writeFileSync(join(path, 'data.mdb'), Buffer.alloc(65_536, 7));
    const again = openAt(path, { topic: 'two' });
    expect(again.appliedOffset).toBe(-1n);
    expect(again.parents.get('a:z')).toBeUndefined();
  });

  it('holds ids LMDB keys cannot (over 1 KiB, with NUL characters) and lists them back', () => {
    const store = openAt(join(tmp(), 'links.lmdb'));
    const long = `a:${'x'.repeat(5_000)}`;
    const nul = 'u:with\u0000nul';
    store.commit(0n, () => {
      const g = new IdentityGraph(store.parents);
      g.apply({ a: long, b: nul });
      g.apply({ a: `a:${'y'.repeat(3_000)}`, b: long });
    });
    const fresh = openAt(join(tmp(), 'other.lmdb'), { cacheIds: 1_000 });
    expect(fresh.parents.get(long)).toBeUndefined();
    const graph = new IdentityGraph(store.parents);
    expect(graph.resolve(`a:${'y'.repeat(3_000)}`)).toBe(nul);
    store.commit(1n, () => expect(graph.forgetComponent(long).sort()).toEqual([long, `a:${'y'.repeat(3_000)}`, nul].sort()));
    expect(graph.size).toBe(0);
  });

  it('gives the in-memory graph’s customers for any links, with a cache far smaller than the ids', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 }), fc.boolean()), { maxLength: 80 }), (pairs) => {
        const { name, store, memory, disk } = graphsToCompare();
        try {
          let offset = 0n;
          let batch: Array<[number, number]> = [];
          const commit = () => {
            store.commit(offset++, () => batch.forEach(([a, b]) => disk.apply({ a: name(a), b: name(b) })));
            batch = [];
          };
          for (const [a, b, ends] of pairs) {
            memory.apply({ a: name(a), b: name(b) });
            batch.push([a, b]);
            if (ends) commit();
          }
          commit();
          for (let n = 0; n <= 60; n++) expect(disk.resolve(name(n))).toBe(memory.resolve(name(n)));
          expect(disk.size).toBe(memory.size);
        } finally {
          void store.close();
        }
      }),
      { numRuns: 30 },
    );
  });

  it('finds a deletion’s component in reads of its own ids, whatever the size of the store', () => {
    // Ann: a user, two devices and an email; her phone is linked again after her user joined, so
    // its pointer moves from e:ann to u:ann and leaves a stale index entry. Everyone else: a user
    // and a device each.
    const deletionReads = (others: number) => {
      const reads = { count: 0 };
      const store = openIdentityStoreLmdb({ path: join(tmp(), 'links.lmdb'), topic: 't', cacheIds: 1_000, logger, reads });
      opened.push(store);
      const graph = new IdentityGraph(store.parents);
      store.commit(0n, () => {
        for (let i = 0; i < others; i++) graph.apply({ a: `u:${i}`, b: `a:${i}` });
        graph.apply({ a: 'a:phone', b: 'e:ann' });
      });
      store.commit(1n, () => {
        graph.apply({ a: 'a:laptop', b: 'a:phone' });
        graph.apply({ a: 'u:ann', b: 'a:laptop' });
      });
      store.commit(2n, () => graph.apply({ a: 'a:phone', b: 'u:ann' }));
      graph.resolve('a:laptop'); // her path in the cache: what is counted below is the walk alone
      reads.count = 0;
      let members: string[] = [];
      store.commit(3n, () => (members = graph.forgetComponent('a:laptop')));
      const walked = reads.count;
      expect(members.sort()).toEqual(['a:laptop', 'a:phone', 'e:ann', 'u:ann']);
      expect(graph.size).toBe(2 * others);
      expect(graph.resolve('a:7')).toBe('u:7');
      return walked;
    };
    const small = deletionReads(100);
    // The index's entries of Ann's ids: u:ann → e:ann, a:phone; e:ann → a:phone (stale), a:laptop;
    // read once, by the walk, and removed without reading them again. A scan would read every entry.
    expect([small, deletionReads(20_000)]).toEqual([4, 4]);
  });

  it('forgets the components the in-memory graph forgets, with deletions between batches of links', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 5 })), { maxLength: 80 }), (steps) => {
        const { name, store, memory, disk } = graphsToCompare();
        try {
          let offset = 0n;
          for (const [a, b, kind] of steps) {
            // kind 0: a deletion of a's component in a commit of its own; 1: a link, then the
            // deletion of b's in the same commit; 2: the deletion of a's, then the link, which
            // brings a back, in the same commit; else a link.
            if (kind === 2) {
              const forgotten = memory.forgetComponent(name(a)).sort();
              memory.apply({ a: name(a), b: name(b) });
              store.commit(offset++, () => {
                expect(disk.forgetComponent(name(a)).sort()).toEqual(forgotten);
                disk.apply({ a: name(a), b: name(b) });
              });
              continue;
            }
            if (kind === 0) {
              const forgotten = memory.forgetComponent(name(a)).sort();
              store.commit(offset++, () => expect(disk.forgetComponent(name(a)).sort()).toEqual(forgotten));
              continue;
            }
            memory.apply({ a: name(a), b: name(b) });
            const forgotten = kind === 1 ? memory.forgetComponent(name(b)).sort() : [];
            store.commit(offset++, () => {
              disk.apply({ a: name(a), b: name(b) });
              if (kind === 1) expect(disk.forgetComponent(name(b)).sort()).toEqual(forgotten);
            });
          }
          for (let n = 0; n <= 40; n++) expect(disk.resolve(name(n))).toBe(memory.resolve(name(n)));
          expect(disk.size).toBe(memory.size);
        } finally {
          void store.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('gives a second opener in the same process a private store, removed when it closes', async () => {
    const dir = tmp();
    const path = join(dir, 'links.lmdb');
    const owner = openAt(path);
    owner.commit(3n, () => new IdentityGraph(owner.parents).apply({ a: 'u:ann', b: 'a:1' }));
    const second = openAt(path);
    expect(second.appliedOffset).toBe(-1n);
    expect(readdirSync(dir).filter((f) => f.includes('.private-'))).toHaveLength(1);
    await close(second);
    expect(readdirSync(dir).filter((f) => f.includes('.private-'))).toHaveLength(0);
    expect(owner.appliedOffset).toBe(3n);
    expect(existsSync(`${path}.lock`)).toBe(true);
  });
});
