import { Registry, collectDefaultMetrics } from 'prom-client';
import { topicsWithPrefix } from '../../schemas/topics.js';
import { parseEnv } from '../platform/config/env.js';
import { clickHouseFromEnv } from '../platform/clickhouse/client.js';
import { migrate } from '../platform/clickhouse/migrate.js';
import { createOpsServer } from '../platform/http/ops-server.js';
import { createKafka } from '../platform/kafka/client.js';
import { consumerTuning } from '../platform/kafka/consumer-tuning.js';
import { pipelineTopicSpecs } from '../platform/kafka/pipeline-topics.js';
import { ensureTopics } from '../platform/kafka/admin.js';
import { createLogger } from '../platform/logging/logger.js';
import { composeComponents } from '../platform/runtime/component.js';
import { runMain } from '../platform/runtime/run-main.js';
import { WriterEnv } from './config.js';
import { journeyRoutes } from './routes.js';
import { createWriterService } from './service.js';

await runMain(async () => {
  const config = parseEnv(WriterEnv, process.env);
  const logger = createLogger('writer', config.LOG_LEVEL);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const topics = topicsWithPrefix(config.KAFKA_TOPIC_PREFIX);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'journey-writer', logger });
  const clickhouse = clickHouseFromEnv(config);
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
  const setup = {
    name: 'setup',
    async start() {
      await ensureTopics(kafka, pipelineTopicSpecs(topics, config.KAFKA_PARTITIONS));
      const result = await migrate(clickhouse.client, {
        database: config.CLICKHOUSE_DATABASE,
        cluster: config.CLICKHOUSE_CLUSTER,
        touchpointTtlDays: config.TOUCHPOINT_TTL_DAYS,
      });
      logger.info({ applied: result.applied }, 'migrations applied');
    },
    stop: () => clickhouse.close(),
    health: () => ({ ok: true }),
  };
  const component = composeComponents('writer', [setup, writer]);
  const ops = createOpsServer({ name: 'writer', host: config.HTTP_HOST, port: config.WRITER_HTTP_PORT, registry, health: () => component.health(), logger });
  return {
    component: composeComponents('writer-main', [component, ops]),
    logger,
    banner: () => `writer: consuming ${topics.customerTouchpoints}, ${topics.sessions}, ... into ClickHouse (${clickhouse.mode}); health at ${ops.address()}/healthz`,
  };
});
