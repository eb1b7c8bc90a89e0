import type { Consumer, Kafka } from 'kafkajs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createTopicFollower } from './topic-follower.js';

/** Consumers that record what is asked of them; the first `failingSeeks` seeks throw as kafkajs does while it restarts a crashed consumer. */
function fakeKafka(failingSeeks: number) {
  const consumers: Array<{ seeks: string[]; disconnected: boolean }> = [];
  let seeksLeftToFail = failingSeeks;
  const kafka = {
    consumer: () => {
      const record = { seeks: [] as string[], disconnected: false };
      consumers.push(record);
      return {
        events: { CRASH: 'consumer.crash' },
        on: () => undefined,
        connect: async () => undefined,
        subscribe: async () => undefined,
        run: async () => undefined,
        seek: ({ offset }: { offset: string }) => {
          if (seeksLeftToFail-- > 0) throw new Error('Consumer group was not initialized, consumer#run must be called first');
          record.seeks.push(offset);
        },
        disconnect: async () => void (record.disconnected = true),
      } as unknown as Consumer;
    },
  } as unknown as Kafka;
  return { kafka, consumers };
}

describe('topic follower', () => {
  it('a seek refused while kafkajs restarts the consumer does not fail the launch: a fresh consumer goes on from the resume offset', async () => {
    const { kafka, consumers } = fakeKafka(1);
    const pauses: number[] = [];
    let relaunched!: () => void;
    const done = new Promise<void>((resolve) => (relaunched = resolve));
    const follower = createTopicFollower({
      kafka,
      topic: 'identity-links',
      groupPrefix: 'test',
      maxWaitTimeInMs: 100,
      logger: pino({ level: 'silent' }),
      onBatch: () => undefined,
      resumeAt: () => 42n,
      stopped: () => false,
      sleep: async (ms) => {
        pauses.push(ms);
        // The relaunch runs after this pause; resolve once the second consumer has sought.
        setImmediate(() => consumers[1]?.seeks.length && relaunched());
      },
    });
    await expect(follower.launch()).resolves.toBeUndefined();
    await done;
    expect(consumers).toHaveLength(2);
    expect(consumers[0]).toEqual({ seeks: [], disconnected: true });
    expect(consumers[1]!.seeks).toEqual(['42']);
    expect(pauses).toEqual([2_000]);
  });
});
