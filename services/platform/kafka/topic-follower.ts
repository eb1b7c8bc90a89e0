import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../logging/logger.js';
import { relaunchAfterPause } from '../retry/relaunch.js';

const RELAUNCH_PAUSE_MS = 2_000;

export interface TopicFollowerOptions {
  kafka: Kafka;
  /** A one-partition table topic every instance reads whole (identity links, forgotten ids). */
  topic: string;
  /** Prefix of the follower's group id (a fresh, unique group per launch). */
  groupPrefix: string;
  maxWaitTimeInMs: number;
  logger: Logger;
  onBatch(messages: KafkaMessage[]): void;
  /** Where a (re)launch goes on: the next offset not yet applied, or null to read from the start. */
  resumeAt?(): bigint | null;
  stopped(): boolean;
  /** Injected for tests: the pause before a relaunch (default a timer). */
  sleep?(ms: number): Promise<void>;
}

/**
 * Follows a table topic with a unique group and no commits: every instance reads all of it.
 * kafkajs does not restart a consumer after a non-retriable crash ("no group coordinator" while
 * the broker restarts), so a fresh one is launched (after a pause, until it succeeds or the owner
 * stops); it goes on from `resumeAt`, and the owner applies entries idempotently.
 */
export function createTopicFollower(o: TopicFollowerOptions): { launch(): Promise<void>; disconnect(): Promise<void> } {
  let consumer: Consumer | undefined;
  const relaunch = async () => {
    const launched = await relaunchAfterPause(launch, { pauseMs: RELAUNCH_PAUSE_MS, stopped: o.stopped, ...(o.sleep ? { sleep: o.sleep } : {}), onFailure: (err) => o.logger.error({ err }, 'topic follower relaunch failed; retrying') });
    if (launched) o.logger.warn('topic follower relaunched');
  };
  const launch = async (): Promise<void> => {
    const self = o.kafka.consumer({ groupId: `${o.groupPrefix}-${randomUUID()}`, maxWaitTimeInMs: o.maxWaitTimeInMs, allowAutoTopicCreation: false });
    consumer = self;
    self.on(self.events.CRASH, (event) => {
      o.logger.error({ err: event.payload.error, restart: event.payload.restart }, 'topic follower crashed');
      if (event.payload.restart || o.stopped() || consumer !== self) return;
      void relaunch();
    });
    await self.connect();
    await self.subscribe({ topics: [o.topic], fromBeginning: true });
    await self.run({ autoCommit: false, eachBatch: async ({ batch }) => o.onBatch(batch.messages) });
    // A batch fetched from the beginning before the seek applies is harmless: entries apply idempotently.
    const resumeAt = o.resumeAt?.() ?? null;
    if (resumeAt === null || resumeAt <= 0n) return;
    try {
      self.seek({ topic: o.topic, partition: 0, offset: resumeAt.toString() });
    } catch (err) {
      // kafkajs is restarting this consumer after a retriable crash while joining (the coordinator
      // still loading after a broker restart) and has no group to seek in ("consumer#run must be
      // called first"). Failing here would fail the owner's start: this consumer is dropped and a
      // fresh one launched after the pause instead, going on from resumeAt like any relaunch.
      o.logger.warn({ err }, 'topic follower could not seek its resume offset; relaunching');
      consumer = undefined;
      await self.disconnect().catch(() => {});
      void relaunch();
    }
  };
  return { launch, disconnect: async () => void (await consumer?.disconnect()) };
}
