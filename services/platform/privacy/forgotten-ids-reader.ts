import type { Kafka } from 'kafkajs';
import { createTopicFollower } from '../kafka/topic-follower.js';
import type { Logger } from '../logging/logger.js';
import type { Component, Health } from '../runtime/component.js';
import { ForgottenIdEntry, type ForgottenIds } from './forgotten-ids.js';

/**
 * Keeps `into` up to date with the compacted `forgotten-ids` topic (one partition): read whole
 * before start() resolves, so a service drops a forgotten id's data from its first event on, then
 * followed. A unique group and no commits, as the identity table does: every instance reads all.
 * A full set (ForgottenIds' bound) is logged and shown in health; the entries past it are not kept.
 */
export function createForgottenIdsReader(deps: { kafka: Kafka; topic: string; into: ForgottenIds; logger: Logger }): Component & { caughtUp(): boolean } {
  const log = deps.logger.child({ component: 'forgotten-ids' });
  let stopped = true;
  let target = 0n;
  let next = 0n;
  let refused = 0;
  let caughtUpResolve: () => void = () => {};
  const caughtUp = new Promise<void>((r) => (caughtUpResolve = r));

  const follower = createTopicFollower({
    kafka: deps.kafka,
    topic: deps.topic,
    groupPrefix: 'forgotten-ids',
    maxWaitTimeInMs: 100,
    logger: log,
    stopped: () => stopped,
    resumeAt: () => (next > 0n ? next : null),
    onBatch: (messages) => {
      for (const m of messages) {
        next = BigInt(m.offset) + 1n;
        if (!m.key || !m.value) continue;
        const parsed = ForgottenIdEntry.safeParse(JSON.parse(m.value.toString('utf8')));
        if (!parsed.success) continue;
        if (!deps.into.add(m.key.toString('utf8'), parsed.data)) {
          if (refused++ === 0) log.error({ size: deps.into.size }, 'forgotten-ids is full: later ids are not suppressed (raise the bound)');
        }
      }
      if (next >= target) caughtUpResolve();
    },
  });

  return {
    name: 'forgotten-ids',
    caughtUp: () => next >= target,
    async start() {
      const admin = deps.kafka.admin();
      await admin.connect();
      const [p0] = await admin.fetchTopicOffsets(deps.topic).finally(() => admin.disconnect());
      target = BigInt(p0?.high ?? '0');
      if (target === 0n || BigInt(p0?.low ?? '0') >= target) caughtUpResolve();
      stopped = false;
      await follower.launch();
      await caughtUp;
      log.info({ ids: deps.into.size }, 'forgotten ids loaded');
    },
    async stop() {
      stopped = true;
      await follower.disconnect();
    },
    health(): Health {
      return { ok: next >= target, details: { ids: deps.into.size, refused } };
    },
  };
}
