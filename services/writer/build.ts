import type { Kafka } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import type { Topics } from '../../schemas/topics.js';
import type { ClickHouse } from '../platform/clickhouse/client.js';
import { migrate } from '../platform/clickhouse/migrate.js';
import { applyRetention } from '../platform/clickhouse/retention.js';
import { consumerTuning } from '../platform/kafka/consumer-tuning.js';
import { createKafkaProducer } from '../platform/kafka/producer.js';
import type { Logger } from '../platform/logging/logger.js';
import { ForgottenIds } from '../platform/privacy/forgotten-ids.js';
import { createForgottenIdsReader } from '../platform/privacy/forgotten-ids-reader.js';
import { composeComponents, type Component } from '../platform/runtime/component.js';
import type { WriterConfig } from './config.js';
import { createDeletionExecutor } from './forget/executor.js';
import { withForgottenFilter } from './forget/row-filter.js';
import { journeyRoutes } from './routes.js';
import { createWriterService } from './service.js';

export interface WriterAdapters {
  kafka: Kafka;
  /** Opened and closed by the caller: in `npm start` the writer shares the one embedded engine. */
  clickhouse: ClickHouse;
  topics: Topics;
  registry: Registry;
  logger: Logger;
}

/**
 * The writer from its parsed config: `npm run writer` and `npm start` both build it here. The
 * writer owns the schema, so its start applies the migrations before its consumer starts. It also
 * executes deletions (README: Privacy): the forgotten ids are loaded before its consumer starts, so
 * no row of a forgotten customer is written again, and the executor starts after it.
 */
export function buildWriter(config: WriterConfig, adapters: WriterAdapters): Component {
  const { kafka, clickhouse, topics, registry, logger } = adapters;
  const migrations: Component = {
    name: 'migrations',
    async start() {
      const target = { database: config.CLICKHOUSE_DATABASE, cluster: config.CLICKHOUSE_CLUSTER, touchpointTtlDays: config.TOUCHPOINT_TTL_DAYS };
      const result = await migrate(clickhouse.client, target);
      logger.info({ applied: result.applied }, 'migrations applied');
      const retained = await applyRetention(clickhouse.client, target, config.CLICKHOUSE_TTL_DAYS);
      if (retained.length > 0) logger.info({ tables: retained, retention: Object.fromEntries(config.CLICKHOUSE_TTL_DAYS) }, 'table retention changed (CLICKHOUSE_TTL_DAYS)');
    },
    stop: async () => {},
    health: () => ({ ok: true }),
  };
  const forgotten = new ForgottenIds(config.FORGOTTEN_IDS_MAX);
  const dropped = new Counter({ name: 'writer_forgotten_rows_dropped_total', help: 'Rows not written because they are about a forgotten id', labelNames: ['topic'], registers: [registry] });
  const routes = withForgottenFilter(journeyRoutes(topics, config.CLICKHOUSE_DATABASE), topics, forgotten, (topic) => dropped.inc({ topic }));
  const writer = createWriterService({
    kafka,
    clickhouse,
    topics,
    routes,
    groupId: config.WRITER_GROUP_ID,
    maxBufferRows: config.WRITER_MAX_BUFFER_ROWS,
    maxRowsPerInsert: config.WRITER_MAX_ROWS_PER_INSERT,
    flushIntervalMs: config.WRITER_FLUSH_INTERVAL_MS,
    derivedFlushIntervalMs: config.WRITER_DERIVED_FLUSH_INTERVAL_MS,
    replayWaitMs: config.WRITER_REPLAY_WAIT_MS,
    consumerTuning: consumerTuning(config),
    registry,
    logger,
  });
  const producer = createKafkaProducer(kafka, { name: 'writer-deletions' });
  const executor = createDeletionExecutor({
    kafka,
    clickhouse,
    topics,
    producer,
    forgotten,
    groups: { router: `${config.WRITER_SESSIONIZER_GROUP_ID}-router`, journey: `${config.WRITER_SESSIONIZER_GROUP_ID}-sessions`, writer: config.WRITER_GROUP_ID },
    writerTopics: routes.map((r) => r.topic),
    pollMs: config.WRITER_DELETIONS_POLL_MS,
    settleTimeoutMs: config.WRITER_DELETION_SETTLE_TIMEOUT_MS,
    registry,
    logger,
    now: Date.now,
  });
  const reader = createForgottenIdsReader({ kafka, topic: topics.forgottenIds, into: forgotten, logger });
  return composeComponents('writer', [migrations, reader, writer, producer, executor]);
}
