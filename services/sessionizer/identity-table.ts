import { join } from 'node:path';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../platform/logging/logger.js';
import type { Component, Health } from '../platform/runtime/component.js';
import { openLocalStateLog, type LocalStateLog } from '../platform/streams/local-state-log.js';
import { createTopicFollower } from '../platform/kafka/topic-follower.js';
import { IdentityGraph, type IdentityLink, type LinkResult } from './core/identity.js';
import { applyForgetEntry } from './forget/identity-forget.js';
import { ForgottenIds } from '../platform/privacy/forgotten-ids.js';

/** Between attempts to bring the table's reader back. */

/**
 * The identity graph as a global table: every instance reads the whole single-partition
 * `identity-links` topic (id → parent) into its own union-find, and applies the links it finds
 * itself at once. Because a component's canonical id depends only on its members (see
 * core/identity.ts), instances that apply the same links in different orders still agree.
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

/**
 * `stateDir`: where the table keeps a local copy of the topic (platform/streams/local-state-log.ts),
 * so a restart reads the copy and then only the topic's tail.
 */
export function createIdentityTable(deps: {
  kafka: Kafka;
  topic: string;
  logger: Logger;
  stateDir?: string;
  /** Where the forget markers of this topic go; the sessionizer shares it with its forgotten-ids reader. */
  forgotten?: ForgottenIds;
}): Component & {
  graph: IdentityGraph;
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
  const graph = new IdentityGraph();
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
      for (const m of messages) {
        if (m.key) applyEntry(m.key.toString('utf8'), m.value?.toString('utf8') ?? null);
        if (BigInt(m.offset) > applied) applied = BigInt(m.offset);
      }
      const last = messages.at(-1);
      if (last) copy?.append(messages.map((m) => ({ key: m.key?.toString('utf8') ?? '', value: m.value })), BigInt(last.offset) + 1n);
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
    for (const [id, value] of loaded.entries) applyEntry(id, value.toString('utf8'));
    applied = loaded.nextOffset - 1n;
  };

  /** Per router input, by marker key: the last offset whose routing is complete (router markers in this topic). */
  const markers = new Map<string, { offset: bigint; watermark: number | null }>();
  const markApplied = (marker: string, offset: bigint, watermark: number | null) => {
    if ((markers.get(marker)?.offset ?? -1n) < offset) markers.set(marker, { offset, watermark });
  };

  const applyEntry = (id: string, value: string | null) => {
    if (applyForgetEntry(id, value, { graph, forgotten }) || value === null) return;
    if (isRouterMarker(id)) {
      const [offset, watermark] = value.split('@');
      markApplied(id, BigInt(offset!), watermark === undefined ? null : Number(watermark));
    }
    else graph.applyEntry(id, value);
  };

  return {
    name: 'identity-table',
    graph,
    forgotten,
    apply: (link) => graph.apply(link),
    entriesFor(ids) {
      const out: Array<[string, string]> = [];
      for (const id of new Set(ids)) {
        const v = graph.entryOf(id);
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
      loadLocalCopy(BigInt(p0?.low ?? '0'), target);
      const fromCopy = applied + 1n;
      if (applied + 1n >= target) caughtUpResolve();
      stopped = false;
      await follower.launch();
      await caughtUp;
      log.info({ ids: graph.size, fromLocalCopy: fromCopy.toString(), fromTopic: (target - fromCopy).toString(), ms: Date.now() - started }, 'identity graph loaded');
    },
    async stop() {
      stopped = true;
      await follower.disconnect();
      copy?.close();
      copy = null;
    },
    health(): Health {
      return { ok: applied + 1n >= target, details: { ids: graph.size } };
    },
  };
}
