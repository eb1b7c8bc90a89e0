import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../platform/logging/logger.js';
import type { Component, Health } from '../platform/runtime/component.js';
import { IdentityGraph, type IdentityLink, type LinkResult } from './core/identity.js';

/**
 * The identity graph as a global table: every instance reads the whole single-partition
 * `identity-links` topic (id → parent) into its own union-find, and applies the links it finds
 * itself at once. Because a component's canonical id depends only on its members (see
 * core/identity.ts), instances that apply the same links in different orders still agree.
 */
export function createIdentityTable(deps: { kafka: Kafka; topic: string; logger: Logger }): Component & {
  graph: IdentityGraph;
  apply(link: IdentityLink): LinkResult;
  /** Changelog entries (id → parent) for the ids a link touched. */
  entriesFor(ids: string[]): Array<[string, string]>;
  caughtUp(): Promise<void>;
} {
  const graph = new IdentityGraph();
  let consumer: Consumer | undefined;
  let caughtUpResolve: () => void = () => {};
  const caughtUp = new Promise<void>((r) => (caughtUpResolve = r));
  let applied = -1n;
  let target = 0n;
  const log = deps.logger.child({ component: 'identity-table' });

  const applyEntry = (id: string, value: string) => {
    if (value.startsWith('#')) graph.apply({ a: id, b: id });
    else graph.apply({ a: id, b: value });
  };

  return {
    name: 'identity-table',
    graph,
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
    async start() {
      const admin = deps.kafka.admin();
      await admin.connect();
      const [p0] = await admin.fetchTopicOffsets(deps.topic);
      await admin.disconnect();
      target = BigInt(p0?.high ?? '0');
      if (target === 0n) caughtUpResolve();
      // A unique group per instance and no commits: every instance reads the whole table.
      consumer = deps.kafka.consumer({ groupId: `identity-table-${randomUUID()}`, maxWaitTimeInMs: 50, allowAutoTopicCreation: false });
      await consumer.connect();
      await consumer.subscribe({ topics: [deps.topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            if (m.key && m.value) applyEntry(m.key.toString('utf8'), m.value.toString('utf8'));
            applied = BigInt(m.offset);
          }
          if (applied + 1n >= target) caughtUpResolve();
        },
      });
      const started = Date.now();
      await caughtUp;
      log.info({ ids: graph.size, ms: Date.now() - started }, 'identity graph loaded');
    },
    async stop() {
      await consumer?.disconnect();
    },
    health(): Health {
      return { ok: applied + 1n >= target, details: { ids: graph.size } };
    },
  };
}
