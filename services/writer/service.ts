import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { topicCodecs, type Topics } from '../../schemas/topics.js';
import type { ClickHouse } from '../platform/clickhouse/client.js';
import { createPartitionedConsumer } from '../platform/kafka/consumer.js';
import type { ConsumerTuning } from '../platform/kafka/consumer-tuning.js';
import { createKafkaProducer } from '../platform/kafka/producer.js';
import type { Logger } from '../platform/logging/logger.js';
import { composeComponents, type Component } from '../platform/runtime/component.js';
import { createClickHouseInserter } from './clickhouse-inserter.js';
import { createWriterHandler, type TopicRoute } from './writer-handler.js';

export interface WriterServiceDeps {
  kafka: Kafka;
  clickhouse: ClickHouse;
  topics: Topics;
  routes: TopicRoute[];
  groupId: string;
  maxBufferRows: number;
  maxRowsPerInsert: number;
  flushIntervalMs: number;
  registry: Registry;
  /** Consumer-group session, heartbeat and rebalance timing (KAFKA_SESSION_TIMEOUT_MS, ...). */
  consumerTuning?: ConsumerTuning;
  logger: Logger;
  now?: () => number;
  random?: () => number;
}

/** The writer: producer (dead letters) → consumer → handler; stopped in reverse (consumer first). */
export function createWriterService(deps: WriterServiceDeps): Component & { bufferedRows(): number } {
  const now = deps.now ?? Date.now;
  const logger = deps.logger.child({ service: 'writer' });
  let stopping = false;
  const producer = createKafkaProducer(deps.kafka, { name: 'writer' });
  const inserter = createClickHouseInserter(
    deps.clickhouse.client,
    {
      maxRowsPerInsert: deps.maxRowsPerInsert,
      isStopping: () => stopping,
      attemptsWhenStopping: 5,
      random: deps.random ?? Math.random,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    },
    logger,
  );
  const handler = createWriterHandler({
    routes: deps.routes,
    inserter,
    producer,
    deadLetterTopic: deps.topics.deadLetter,
    deadLetterCodec: topicCodecs.deadLetter(),
    maxBufferRows: deps.maxBufferRows,
    flushIntervalMs: deps.flushIntervalMs,
    now,
    registry: deps.registry,
    logger,
  });
  const consumer = createPartitionedConsumer(
    deps.kafka,
    handler,
    { name: 'writer', groupId: deps.groupId, topics: deps.routes.map((r) => r.topic), idleIntervalMs: Math.max(20, Math.floor(deps.flushIntervalMs / 2)), tuning: deps.consumerTuning },
    logger,
  );
  const parts = composeComponents('writer', [producer, consumer]);
  return {
    ...parts,
    async stop() {
      stopping = true;
      await parts.stop();
    },
    bufferedRows: () => handler.bufferedRows(),
  };
}
