import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { topicCodecs, type Topics } from '../../schemas/topics.js';
import type { ClickHouse } from '../platform/clickhouse/client.js';
import { createPartitionedConsumer, type CommittedOffset } from '../platform/kafka/consumer.js';
import type { ConsumerTuning } from '../platform/kafka/consumer-tuning.js';
import { createKafkaProducer } from '../platform/kafka/producer.js';
import type { Logger } from '../platform/logging/logger.js';
import { sleepMs } from '../platform/retry/retry.js';
import { composeComponents, type Component } from '../platform/runtime/component.js';
import { createClickHouseInserter } from './clickhouse-inserter.js';
import { withBlockAges } from './routes.js';
import { createWriterHandler, type TopicRoute } from './writer-handler.js';

export interface WriterServiceDeps {
  kafka: Kafka;
  clickhouse: ClickHouse;
  topics: Topics;
  routes: TopicRoute[];
  groupId: string;
  /** Records a table holds at most (back-pressure above it); a block is cut at half of it... */
  maxBufferRows: number;
  /** An insert larger than this is split into chunks with derived tokens. */
  maxRowsPerInsert: number;
  /** ...or when its oldest record has waited this long (ms): the touchpoints table's block... */
  flushIntervalMs: number;
  /**
   * ...and every other table's (sessions, stage transitions, funnel events, churn scores, ...):
   * default DERIVED_FLUSH_INTERVAL_MS, never less than `flushIntervalMs`.
   */
  derivedFlushIntervalMs?: number;
  /** How long a writer holding only some members of an interrupted block waits for the rest (default 10 s). */
  replayWaitMs?: number;
  registry: Registry;
  /** Consumer-group session, heartbeat and rebalance timing (KAFKA_SESSION_TIMEOUT_MS, ...). */
  consumerTuning?: ConsumerTuning;
  logger: Logger;
  now?: () => number;
  random?: () => number;
}

/**
 * Why the derived tables wait longer: the writer's CPU follows its number of inserts more than its
 * rows. An insert costs 40–75 ms of CPU whatever its size up to a few thousand rows (the query, a
 * part per table and per materialized view it fires, their merges, the block's commits;
 * docs/performance.md, "Writer: where the CPU goes"), and at the touchpoints' interval each derived
 * table was inserted as often as `touchpoints` (sessions with as many rows, the others ~0.3 per
 * touchpoint). Nothing reads them faster than every 2 s (the dashboard's refresh; the stage and
 * churn snapshots every 10 s / 30 s; the alerter's windows are minutes), and the bench's freshness
 * is the touchpoints'.
 */
export const DERIVED_FLUSH_INTERVAL_MS = 2_000;

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
      sleep: sleepMs,
    },
    logger,
  );
  /** The group's commits on a topic: what became of an interrupted block's members held elsewhere. */
  const committedOffsets = async (topic: string): Promise<Map<number, CommittedOffset>> => {
    const admin = deps.kafka.admin();
    await admin.connect();
    try {
      const [offsets] = await admin.fetchOffsets({ groupId: deps.groupId, topics: [topic] });
      return new Map((offsets?.partitions ?? []).map((p) => [p.partition, { offset: p.offset, metadata: p.metadata ?? null }]));
    } finally {
      await admin.disconnect();
    }
  };
  const handler = createWriterHandler({
    routes: withBlockAges(deps.routes, deps.topics.customerTouchpoints, { touchpointsMs: deps.flushIntervalMs, derivedMs: deps.derivedFlushIntervalMs ?? DERIVED_FLUSH_INTERVAL_MS }),
    inserter,
    producer,
    deadLetterTopic: deps.topics.deadLetter,
    deadLetterCodec: topicCodecs.deadLetter(),
    maxBufferRows: deps.maxBufferRows,
    flushIntervalMs: deps.flushIntervalMs,
    replayWaitMs: deps.replayWaitMs,
    committedOffsets,
    now,
    random: deps.random,
    registry: deps.registry,
    logger,
  });
  const consumer = createPartitionedConsumer(
    deps.kafka,
    handler,
    // The handler keeps its own timers (a block's age, retries); idle ticks only serve the consumer.
    { name: 'writer', groupId: deps.groupId, topics: deps.routes.map((r) => r.topic), idleIntervalMs: 1_000, tuning: deps.consumerTuning },
    logger,
  );
  const parts = composeComponents('writer', [producer, consumer]);
  return {
    ...parts,
    async stop() {
      stopping = true;
      try {
        await parts.stop();
      } finally {
        handler.close();
      }
    },
    bufferedRows: () => handler.bufferedRows(),
  };
}
