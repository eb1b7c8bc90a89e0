import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Topics } from '../../../schemas/topics.js';
import type { ClickHouse } from '../../platform/clickhouse/client.js';
import type { Logger } from '../../platform/logging/logger.js';
import type { WriterConfig } from '../config.js';
import { journeyRoutes } from '../routes.js';
import { createWriterService } from '../service.js';

/** The writer service as the writer's bench scripts run it: the journey routes and the settings of a parsed WriterEnv. */
export function benchWriterService(o: { kafka: Kafka; clickhouse: ClickHouse; topics: Topics; groupId: string; config: WriterConfig; registry: Registry; logger: Logger }) {
  return createWriterService({
    kafka: o.kafka,
    clickhouse: o.clickhouse,
    topics: o.topics,
    routes: journeyRoutes(o.topics, 'journey'),
    groupId: o.groupId,
    maxBufferRows: o.config.WRITER_MAX_BUFFER_ROWS,
    maxRowsPerInsert: o.config.WRITER_MAX_ROWS_PER_INSERT,
    flushIntervalMs: o.config.WRITER_FLUSH_INTERVAL_MS,
    derivedFlushIntervalMs: o.config.WRITER_DERIVED_FLUSH_INTERVAL_MS,
    registry: o.registry,
    logger: o.logger,
  });
}
