import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../logging/logger.js';
import { relaunchAfterPause } from '../retry/relaunch.js';
import type { Component, Health } from '../runtime/component.js';
import { ForgottenIdEntry, type ForgottenIds } from './forgotten-ids.js';

const RELAUNCH_PAUSE_MS = 2_000;

/**
 * Keeps `into` up to date with the compacted `forgotten-ids` topic (one partition): read whole
 * before start() resolves, so a service drops a forgotten id's data from its first event on, then
 * followed. A unique group and no commits, as the identity table does: every instance reads all.
 * A full set (ForgottenIds' bound) is logged and shown in health; the entries past it are not kept.
 */
export function createForgottenIdsReader(deps: { kafka: Kafka; topic: string; into: ForgottenIds; logger: Logger }): Component & { caughtUp(): boolean } {
  const log = deps.logger.child({ component: 'forgotten-ids' });
  let consumer: Consumer | undefined;
  let stopped = true;
  let target = 0n;
  let next = 0n;
  let refused = 0;
  let caughtUpResolve: () => void = () => {};
  const caughtUp = new Promise<void>((r) => (caughtUpResolve = r));

  const launch = async (): Promise<void> => {
    const self = deps.kafka.consumer({ groupId: `forgotten-ids-${randomUUID()}`, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
    consumer = self;
    self.on(self.events.CRASH, (event) => {
      log.error({ err: event.payload.error, restart: event.payload.restart }, 'forgotten-ids reader crashed');
      if (event.payload.restart || stopped || consumer !== self) return;
      void relaunchAfterPause(launch, { pauseMs: RELAUNCH_PAUSE_MS, stopped: () => stopped, onFailure: (err) => log.error({ err }, 'forgotten-ids relaunch failed') });
    });
    await self.connect();
    await self.subscribe({ topics: [deps.topic], fromBeginning: true });
    await self.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
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
  };

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
      await launch();
      await caughtUp;
      log.info({ ids: deps.into.size }, 'forgotten ids loaded');
    },
    async stop() {
      stopped = true;
      await consumer?.disconnect();
    },
    health(): Health {
      return { ok: next >= target, details: { ids: deps.into.size, refused } };
    },
  };
}
