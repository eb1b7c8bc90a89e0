import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Topics } from '../../schemas/topics.js';
import type { ClickHouse } from '../platform/clickhouse/client.js';
import { migrate } from '../platform/clickhouse/migrate.js';
import { consumerTuning } from '../platform/kafka/consumer-tuning.js';
import type { Logger } from '../platform/logging/logger.js';
import { composeComponents, type Component } from '../platform/runtime/component.js';
import type { WriterConfig } from './config.js';
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
 * writer owns the schema, so its start applies the migrations before its consumer starts.
 */
export function buildWriter(config: WriterConfig, adapters: WriterAdapters): Component {
  const { kafka, clickhouse, topics, registry, logger } = adapters;
  const migrations: Component = {
    name: 'migrations',
    async start() {
      const result = await migrate(clickhouse.client, { database: config.CLICKHOUSE_DATABASE, cluster: config.CLICKHOUSE_CLUSTER, touchpointTtlDays: config.TOUCHPOINT_TTL_DAYS });
      logger.info({ applied: result.applied }, 'migrations applied');
    },
    stop: async () => {},
    health: () => ({ ok: true }),
  };
  const writer = createWriterService({
    kafka,
    clickhouse,
    topics,
    routes: journeyRoutes(topics, config.CLICKHOUSE_DATABASE),
    groupId: config.WRITER_GROUP_ID,
    maxBufferRows: config.WRITER_MAX_BUFFER_ROWS,
    maxRowsPerInsert: config.WRITER_MAX_ROWS_PER_INSERT,
    flushIntervalMs: config.WRITER_FLUSH_INTERVAL_MS,
    replayWaitMs: config.WRITER_REPLAY_WAIT_MS,
    consumerTuning: consumerTuning(config),
    registry,
    logger,
  });
  return composeComponents('writer', [migrations, writer]);
}
