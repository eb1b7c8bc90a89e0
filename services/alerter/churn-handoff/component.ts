import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { topicCodecs, type Topics } from '../../../schemas/topics.js';
import type { ConsumerTuning } from '../../platform/kafka/consumer-tuning.js';
import { createPartitionedConsumer } from '../../platform/kafka/consumer.js';
import { createKafkaProducer } from '../../platform/kafka/producer.js';
import type { Logger } from '../../platform/logging/logger.js';
import type { Component, Health } from '../../platform/runtime/component.js';
import { abortableSleep, fetchPoster, type PostWebhook } from '../webhook-queue.js';
import { createChurnHandoffHandler, type ChurnHandoffHandler } from './handler.js';
import { createChurnHandoffMetrics } from './metrics.js';

/** The consumer group of the hand-off: its committed offsets say which churn alerts are settled. */
export const CHURN_HANDOFF_GROUP = 'churn-handoff';

export interface ChurnHandoffOptions {
  readonly kafka: Kafka;
  readonly topics: Topics;
  readonly url: string;
  /** The HTTP POST; default Node's fetch to `url`. */
  readonly post?: PostWebhook;
  readonly maxQueue: number;
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  /** Backoff between attempts: 1–2 s, 2–4 s, … up to 30–60 s (jittered) by default. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** How long a stop gives queued deliveries (one attempt each); default 5 s. */
  readonly stopGraceMs?: number;
  readonly groupId?: string;
  readonly tuning?: Partial<ConsumerTuning>;
  readonly registry: Registry;
  readonly logger: Logger;
}

export interface ChurnHandoff extends Component {
  backlog(): number;
  /** Resolves when every record read so far is delivered or dead-lettered (tests). */
  idle(): Promise<void>;
}

/**
 * `churn-alerts` → the churn webhook: a consumer group of its own, so it holds back nothing else
 * (the journey step writes the topic whatever happens here). Each start builds a fresh queue and
 * consumer, which resume from the group's committed offsets.
 */
export function createChurnHandoff(options: ChurnHandoffOptions): ChurnHandoff {
  const logger = options.logger.child({ component: 'churn-handoff' });
  const producer = createKafkaProducer(options.kafka, { name: 'churn-handoff' });
  let handler: ChurnHandoffHandler | null = null;
  let consumer: ReturnType<typeof createPartitionedConsumer> | null = null;
  const counters = createChurnHandoffMetrics(options.registry, () => handler?.backlog() ?? 0);

  return {
    name: 'churn-handoff',
    async start() {
      await producer.start();
      handler = createChurnHandoffHandler({
        post: options.post ?? fetchPoster(options.url),
        codec: topicCodecs.churnAlerts(),
        maxQueue: options.maxQueue,
        maxAttempts: options.maxAttempts,
        baseDelayMs: options.baseDelayMs ?? 2_000,
        maxDelayMs: options.maxDelayMs ?? 60_000,
        timeoutMs: options.timeoutMs,
        sleep: abortableSleep,
        random: Math.random,
        now: Date.now,
        deadLetterTopic: options.topics.deadLetter,
        sendDeadLetters: async (records) => {
          await producer.send(records);
        },
        counters,
        logger,
      });
      consumer = createPartitionedConsumer(
        options.kafka,
        handler,
        { name: 'churn-handoff', groupId: options.groupId ?? CHURN_HANDOFF_GROUP, topics: [options.topics.churnAlerts], tuning: options.tuning },
        logger,
      );
      await consumer.start();
    },
    async stop() {
      // Deliveries first (one last attempt each), then the consumer commits what they settled.
      await handler?.stopDelivering(options.stopGraceMs ?? 5_000);
      await consumer?.stop();
      await producer.stop();
      consumer = null;
    },
    health(): Health {
      const h = consumer?.health() ?? { ok: false, details: { started: false } };
      const backpressured = handler?.waitingForRoom() ?? false;
      // A receiver that is down fills the queue and holds the batch back for as long as it is down:
      // that is the hand-off waiting by design, not a hung consumer, and no reason to restart it.
      const ok = h.ok || (backpressured && h.details?.running === true && h.details?.crashed === undefined);
      return { ok, details: { ...h.details, backlog: handler?.backlog() ?? 0, backpressured } };
    },
    backlog: () => handler?.backlog() ?? 0,
    idle: async () => handler?.idle(),
  };
}
