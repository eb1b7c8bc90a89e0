import { join } from 'node:path';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../platform/logging/logger.js';
import type { Component, Health } from '../platform/runtime/component.js';
import { openLocalStateLog, type LocalStateLog } from '../platform/streams/local-state-log.js';
import { createTopicFollower } from '../platform/kafka/topic-follower.js';
import { IdentityGraph, type IdentityLink, type LinkResult } from './core/identity.js';
import { IdentityView } from './core/identity-view.js';
import { openIdentityStoreLmdb, type IdentityStoreLmdb, type IdentityStoreWrites } from './identity-store-lmdb.js';
import { applyForgetEntry } from './forget/identity-forget.js';
import { ForgottenIds } from '../platform/privacy/forgotten-ids.js';

/**
 * The identity graph as a global table: every instance reads the whole single-partition
 * `identity-links` topic (id → parent) into its own union-find (the durable graph), and applies the
 * links it finds itself at once (core/identity-view.ts: kept beside the durable graph until read
 * back from the topic). Because a component's canonical id depends only on its members (see
 * core/identity.ts), instances that apply the same links in different orders still agree.
 *
 * The durable graph lives in memory (SESSIONIZER_IDENTITY_STORE=memory: a local copy of the topic
 * in the state directory, read whole at start) or in an LMDB store in the state directory (lmdb:
 * pointers on disk behind a bounded cache, each batch of the topic applied in one transaction with
 * its offset, so a restart reads only the topic's tail; identity-store-lmdb.ts).
 */
/**
 * The router's applied-offset markers live in the identity-links topic beside the links, under keys
 * no identity id can take (ids are `u:`, `a:`, `e:`): written after a batch's links, they tell a
 * restarted router which touchpoints were routed completely, so it never routes them again with a
 * graph that already holds their links. One per router input: `@router-applied:<p>` for a
 * `touchpoints` partition (the key since the first version, so an upgrade reads its markers as they
 * are), `@router-applied:history:<p>` for a `touchpoints-history` partition (docs/history-lane.md).
 */
export const routerMarkerKey = (partition: number, lane: 'live' | 'history' = 'live'): string => (lane === 'live' ? `@router-applied:${partition}` : `@router-applied:history:${partition}`);
/** A marker's value: the offset, and the partition's event-time watermark up to it (`<offset>@<ms>`). */
export const routerMarkerValue = (offset: bigint, watermark: number | null): string => (watermark === null ? offset.toString() : `${offset}@${watermark}`);
const isRouterMarker = (key: string): boolean => key.startsWith('@router-applied:');

/** Where the durable graph lives (SESSIONIZER_IDENTITY_STORE; README: Configuration). */
export type IdentityStoreOption = { kind: 'memory' } | { kind: 'lmdb'; cacheIds: number };

const NO_WRITES: IdentityStoreWrites = { setMarker: () => {} };

/**
 * `stateDir`: where the table keeps its local state (memory: a copy of the topic,
 * platform/streams/local-state-log.ts; lmdb: the store). Without one, the graph is in memory and
 * read whole from the topic.
 */
export function createIdentityTable(deps: {
  kafka: Kafka;
  topic: string;
  logger: Logger;
  stateDir?: string;
  /** Default memory; lmdb needs `stateDir`. */
  store?: IdentityStoreOption;
  /** Where the forget markers of this topic go; the sessionizer shares it with its forgotten-ids reader. */
  forgotten?: ForgottenIds;
}): Component & {
  /** Customer ids as this instance sees them (the topic's links and its own not read back yet). */
  readonly graph: Pick<IdentityView, 'resolve' | 'customerIdFor' | 'size'>;
  /** Ids a deletion forgot (forget markers in this topic, and whoever else fills `deps.forgotten`): the router drops their touchpoints. */
  forgotten: ForgottenIds;
  apply(link: IdentityLink): LinkResult;
  /** Changelog entries (id → parent) for the ids a link touched. */
  entriesFor(ids: string[]): Array<[string, string]>;
  caughtUp(): Promise<void>;
  /** Resolves once the table has read everything written to its topic before this call. */
  catchUpToEnd(): Promise<void>;
  /** The last offset of the input whose marker key is `marker` (routerMarkerKey) whose routing is complete (links and outputs sent), or null. */
  appliedOffset(marker: string): bigint | null;
  /** The event-time watermark of that input up to its applied offset (max touchpoint time), or null. */
  appliedWatermark(marker: string): number | null;
  /** Records a completed batch locally at once (the topic has it too; reading it back takes a moment). */
  markApplied(marker: string, offset: bigint, watermark: number | null): void;
} {
  const useLmdb = deps.store?.kind === 'lmdb' && deps.stateDir !== undefined;
  /** The durable graph's store (lmdb), opened at start; null in memory. */
  let store: IdentityStoreLmdb | null = null;
  let view = new IdentityView(new IdentityGraph());
  const forgotten = deps.forgotten ?? new ForgottenIds();
  let caughtUpResolve: () => void = () => {};
  const caughtUp = new Promise<void>((r) => (caughtUpResolve = r));
  let applied = -1n;
  let target = 0n;
  const log = deps.logger.child({ component: 'identity-table' });

  let stopped = true;
  let copy: LocalStateLog | null = null;

  /** The whole table, followed (a unique group, no commits); a relaunch goes on after the last offset the graph holds. */
  const follower = createTopicFollower({
    kafka: deps.kafka,
    topic: deps.topic,
    groupPrefix: 'identity-table',
    maxWaitTimeInMs: 50,
    logger: log,
    stopped: () => stopped,
    resumeAt: () => (applied >= 0n ? applied + 1n : null),
    onBatch: (messages) => {
      const last = messages.at(-1);
      if (!last) return;
      // A relaunch may read a batch again from an earlier offset: entries apply idempotently.
      const through = BigInt(last.offset) > applied ? BigInt(last.offset) : applied;
      const applyAll = (writes: IdentityStoreWrites) => {
        for (const m of messages) if (m.key) applyEntry(m.key.toString('utf8'), m.value?.toString('utf8') ?? null, writes);
      };
      if (store) store.commit(through, applyAll);
      else {
        applyAll(NO_WRITES);
        copy?.append(messages.map((m) => ({ key: m.key?.toString('utf8') ?? '', value: m.value })), BigInt(last.offset) + 1n);
      }
      applied = through;
      view.refresh();
      if (applied + 1n >= target) caughtUpResolve();
    },
  });

  /** Loads the local copy when it belongs to this topic (not past its end, not before its start). */
  const loadLocalCopy = (low: bigint, high: bigint): void => {
    if (deps.stateDir === undefined) return;
    copy = openLocalStateLog(join(deps.stateDir, `${deps.topic}-0.log`), log);
    const loaded = copy?.load();
    if (!loaded) return;
    if (loaded.nextOffset < low || loaded.nextOffset > high) {
      log.warn({ copy: loaded.nextOffset.toString(), low: low.toString(), high: high.toString() }, 'local identity copy does not fit the topic; reading the topic whole');
      copy?.rewrite([], low);
      return;
    }
    for (const [id, value] of loaded.entries) applyEntry(id, value.toString('utf8'), NO_WRITES);
    applied = loaded.nextOffset - 1n;
  };

  /** Opens the LMDB store; one that does not fit the topic (not past its end, not before its start) is emptied. */
  const openStore = (low: bigint, high: bigint): void => {
    const opened = openIdentityStoreLmdb({ path: join(deps.stateDir!, `${deps.topic}.lmdb`), topic: deps.topic, cacheIds: (deps.store as { cacheIds: number }).cacheIds, logger: log });
    store = opened;
    const next = opened.appliedOffset + 1n;
    if (opened.appliedOffset >= 0n && (next < low || next > high)) {
      log.warn({ store: next.toString(), low: low.toString(), high: high.toString() }, 'identity store does not fit the topic; rebuilding it from the topic');
      opened.clear();
    }
    view = new IdentityView(new IdentityGraph(opened.parents));
    for (const [key, value] of opened.markers()) applyEntry(key, value, NO_WRITES);
    applied = opened.appliedOffset;
  };

  /** Per router input, by marker key: the last offset whose routing is complete (router markers in this topic). */
  const markers = new Map<string, { offset: bigint; watermark: number | null }>();
  const markApplied = (marker: string, offset: bigint, watermark: number | null) => {
    if ((markers.get(marker)?.offset ?? -1n) < offset) markers.set(marker, { offset, watermark });
  };

  /** One entry of the topic; `writes` keeps its non-link entries with the store's commit (lmdb). */
  const applyEntry = (id: string, value: string | null, writes: IdentityStoreWrites) => {
    if (id.startsWith('@')) writes.setMarker(id, value);
    if (value === null && !id.startsWith('@')) {
      // A deletion runs on the event loop: in the memory store it scans every pointer, in the lmdb
      // store it walks the customer's own ids (docs/performance.md, "Identity deletions in
      // proportion to the customer"). A slow one is logged with its size.
      const started = Date.now();
      applyForgetEntry(id, value, { graph: view, forgotten });
      const ms = Date.now() - started;
      if (ms >= 100) log.warn({ ms, ids: view.size, store: store ? 'lmdb' : 'memory' }, 'identity deletion was slow');
      return;
    }
    if (applyForgetEntry(id, value, { graph: view, forgotten }) || value === null) return;
    if (isRouterMarker(id)) {
      const [offset, watermark] = value.split('@');
      markApplied(id, BigInt(offset!), watermark === undefined ? null : Number(watermark));
    }
    else if (!id.startsWith('@')) view.durable.applyEntry(id, value);
  };

  return {
    name: 'identity-table',
    get graph() {
      return view;
    },
    forgotten,
    apply: (link) => view.apply(link),
    entriesFor(ids) {
      const out: Array<[string, string]> = [];
      for (const id of new Set(ids)) {
        const v = view.entryOf(id);
        if (v !== undefined) out.push([id, v]);
      }
      return out;
    },
    caughtUp: () => caughtUp,
    async catchUpToEnd() {
      const admin = deps.kafka.admin();
      await admin.connect();
      const [p0] = await admin.fetchTopicOffsets(deps.topic).finally(() => admin.disconnect());
      const end = BigInt(p0?.high ?? '0');
      while (applied + 1n < end) await new Promise((r) => setTimeout(r, 20));
    },
    appliedOffset: (marker) => markers.get(marker)?.offset ?? null,
    appliedWatermark: (marker) => markers.get(marker)?.watermark ?? null,
    markApplied,
    async start() {
      const admin = deps.kafka.admin();
      await admin.connect();
      const [p0] = await admin.fetchTopicOffsets(deps.topic);
      await admin.disconnect();
      target = BigInt(p0?.high ?? '0');
      const started = Date.now();
      if (useLmdb) openStore(BigInt(p0?.low ?? '0'), target);
      else loadLocalCopy(BigInt(p0?.low ?? '0'), target);
      const fromLocal = applied + 1n;
      if (applied + 1n >= target) caughtUpResolve();
      stopped = false;
      await follower.launch();
      await caughtUp;
      log.info({ store: useLmdb ? 'lmdb' : 'memory', ids: view.size, fromLocal: fromLocal.toString(), fromTopic: (target - fromLocal).toString(), ms: Date.now() - started }, 'identity graph loaded');
    },
    async stop() {
      stopped = true;
      await follower.disconnect();
      copy?.close();
      copy = null;
      await store?.close();
      store = null;
    },
    health(): Health {
      return { ok: applied + 1n >= target, details: { ids: view.size, pendingLinks: view.pendingLinks } };
    },
  };
}
