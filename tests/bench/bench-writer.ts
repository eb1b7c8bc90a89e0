import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import type { Topics } from '../../schemas/topics.js';
import { createClickHouse, type ClickHouse } from '../../services/platform/clickhouse/client.js';
import { migrate } from '../../services/platform/clickhouse/migrate.js';
import type { Logger } from '../../services/platform/logging/logger.js';
import { journeyRoutes } from '../../services/writer/routes.js';
import { createWriterService } from '../../services/writer/service.js';

/**
 * The writer of a bench run, in the bench process with embedded ClickHouse (database `journey` in
 * `dataDir`, migrated): the bench's queries and the writer share the engine, which allows one owner.
 */
export async function benchWriter(o: { kafka: Kafka; topics: Topics; prefix: string; dataDir: string; flushIntervalMs: number; logger: Logger }): Promise<{ ch: ClickHouse; writer: ReturnType<typeof createWriterService> }> {
  const ch = createClickHouse({ database: 'journey', dataDir: o.dataDir });
  await migrate(ch.client, { database: 'journey', touchpointTtlDays: 3650 });
  const writer = createWriterService({
    kafka: o.kafka,
    clickhouse: ch,
    topics: o.topics,
    routes: journeyRoutes(o.topics, 'journey'),
    groupId: `${o.prefix}writer`,
    maxBufferRows: 20_000,
    maxRowsPerInsert: 100_000,
    flushIntervalMs: o.flushIntervalMs,
    registry: new Registry(),
    logger: o.logger,
  });
  return { ch, writer };
}
