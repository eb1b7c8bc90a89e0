import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { IdentityGraph } from '../../services/sessionizer/core/identity.js';
import { openIdentityStoreLmdb } from '../../services/sessionizer/identity-store-lmdb.js';
import { openLocalStateLog } from '../../services/platform/streams/local-state-log.js';

/**
 * One identity store in a process of its own (tests/bench/identity-store.ts runs it), so that its
 * RSS is its own: `links` identity-links entries applied as the table's reader applies them (in
 * batches of 1,000 by default, one LMDB transaction each; memory: the graph and the local copy's
 * append), then memory, lookups and a restart measured. Prints one JSON line.
 * Arguments: mode (memory | lmdb), links, cache ids (100,000), batch (1,000).
 */
const [mode, linksArg, cacheArg] = process.argv.slice(2);
const links = Number(linksArg);
const cacheIds = Number(cacheArg ?? 100_000);
const BATCH = Number(process.argv[5] ?? 1_000);

/** A person: a user id, two devices (anonymous UUID-like ids), an email for one in four. About 3.25 entries a person. */
function* entries(): Generator<[string, string]> {
  let n = 0;
  for (let i = 0; n < links; i++) {
    const user = `u:user-${i.toString(36).padStart(7, '0')}`;
    const anon = (k: number) => `a:${((i * 2_654_435_761 + k) >>> 0).toString(16).padStart(8, '0')}-4f3c-9a1b-${i.toString(16).padStart(12, '0')}-${k}`;
    const person: Array<[string, string]> = [[user, '#'], [anon(0), user], [anon(1), user]];
    if (i % 4 === 0) person.push([`e:${((i * 40_503) >>> 0).toString(16).padStart(8, '0')}${i.toString(16).padStart(56, '0')}`, user]);
    for (const e of person) {
      if (n++ >= links) return;
      yield e;
    }
  }
}

function status(): { rssMb: number; rssAnonMb: number; rssFileMb: number } {
  const s = readFileSync('/proc/self/status', 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
  return { rssMb: Math.round(kb('VmRSS') / 1024), rssAnonMb: Math.round(kb('RssAnon') / 1024), rssFileMb: Math.round(kb('RssFile') / 1024) };
}
const gc = (globalThis as { gc?: () => void }).gc;
const heapMb = () => {
  gc?.();
  gc?.();
  return Math.round(process.memoryUsage().heapUsed / 1024 / 1024);
};
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const logger = pino({ level: 'silent' });
const before = { heapMb: heapMb(), ...status() };
const dir = mkdtempSync(join(tmpdir(), 'identity-bench-'));
const path = join(dir, 'links.lmdb');
let store = mode === 'lmdb' ? openIdentityStoreLmdb({ path, topic: 'bench', cacheIds, logger }) : null;
let graph = new IdentityGraph(store?.parents);

const t0 = performance.now();
const cpu0 = process.cpuUsage();
let offset = -1n;
let batch: Array<[string, string]> = [];
// memory: the table also appends each batch to its local copy (identity-table.ts), timed apart.
const copy = store ? null : openLocalStateLog(join(dir, 'links-0.log'), logger);
let copyMicros = 0;
const flush = () => {
  const apply = () => {
    for (const [id, value] of batch) graph.applyEntry(id, value);
  };
  offset += BigInt(batch.length);
  if (store) store.commit(offset, apply);
  else {
    apply();
    const c = process.cpuUsage();
    copy!.append(batch.map(([key, value]) => ({ key, value: Buffer.from(value) })), offset + 1n);
    const used = process.cpuUsage(c);
    copyMicros += used.user + used.system;
  }
  batch = [];
};
for (const e of entries()) {
  batch.push(e);
  if (batch.length === BATCH) flush();
}
flush();
const applySeconds = (performance.now() - t0) / 1000;
const applyCpu = process.cpuUsage(cpu0);
const built = { heapMb: heapMb(), ...status() };

// Lookups: ids of random people (most not in a cache of 100,000 ids).
const sample = [...entries()].filter((_, i) => i % 7 === 0).map(([id]) => id);
const t1 = performance.now();
let found = 0;
for (let k = 0; k < 200_000; k++) if (graph.resolve(sample[(k * 7_919) % sample.length]!).startsWith('u:')) found++;
const lookupsPerSecond = Math.round(200_000 / ((performance.now() - t1) / 1000));

// A restart: the store reopened (the topic's tail is empty here), or everything applied again.
let restartSeconds: number;
const t2 = performance.now();
if (store) {
  await store.close();
  store = openIdentityStoreLmdb({ path, topic: 'bench', cacheIds, logger });
  graph = new IdentityGraph(store.parents);
  if (store.appliedOffset !== offset) throw new Error('store lost its offset');
  graph.resolve(sample[0]!);
  restartSeconds = (performance.now() - t2) / 1000;
} else {
  graph = new IdentityGraph();
  for (const [id, value] of entries()) graph.applyEntry(id, value);
  restartSeconds = (performance.now() - t2) / 1000;
}
// A deletion: one person's component (IdentityGraph.forgetComponent: memory scans every pointer,
// lmdb walks its index of children).
const t3 = performance.now();
let forgotten = 0;
if (store) store.commit(offset + 1n, () => void (forgotten = graph.forgetComponent(sample[0]!).length));
else forgotten = graph.forgetComponent(sample[0]!).length;
const forgetSeconds = (performance.now() - t3) / 1000;
const ids = graph.size;
const diskMb = Math.round(statSync(store ? join(path, 'data.mdb') : join(dir, 'links-0.log')).size / 1024 / 1024);
copy?.close();
await store?.close();
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    mode,
    links,
    ids,
    cacheIds: store ? cacheIds : undefined,
    applyPerSecond: Math.round(links / applySeconds),
    // The process's CPU (all threads: GC included) while applying, per million entries: the rate
    // above is the load's as much as the code's on a shared machine, this much less so.
    applyCpuSecondsPerMillion: Number((((applyCpu.user + applyCpu.system) / 1e6) * (1_000_000 / links)).toFixed(2)),
    // memory: of which the local copy's appends (lmdb has none: the store is its copy).
    copyCpuSecondsPerMillion: store ? undefined : Number(((copyMicros / 1e6) * (1_000_000 / links)).toFixed(2)),
    lookupsPerSecond,
    found,
    restartSeconds: Number(restartSeconds.toFixed(3)),
    forgetSeconds: Number(forgetSeconds.toFixed(3)),
    forgotten,
    heapMb: built.heapMb - before.heapMb,
    rssMb: built.rssMb - before.rssMb,
    rssAnonMb: built.rssAnonMb - before.rssAnonMb,
    rssFileMb: built.rssFileMb - before.rssFileMb,
    diskMb,
    loadavg: loadavg(),
  }),
);
