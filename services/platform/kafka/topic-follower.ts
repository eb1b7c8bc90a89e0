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
    const launched = await relaunchAfterPause(launch, { pauseMs: RELAUNCH_PAUSE_MS, stopped: o.stopped, onFailure: (err) => o.logger.error({ err }, 'topic follower relaunch failed; retrying') });
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
    if (resumeAt !== null && resumeAt > 0n) self.seek({ topic: o.topic, partition: 0, offset: resumeAt.toString() });
  };
  return { launch, disconnect: async () => void (await consumer?.disconnect()) };
}
