// `npm run writer`: parse the config once → adapters (Kafka client, ClickHouse, metrics, logger) → buildWriter, plus /healthz.
import { Registry, collectDefaultMetrics } from 'prom-client';
import { topicsWithPrefix } from '../../schemas/topics.js';
import { parseEnv } from '../platform/config/env.js';
import { clickHouseFromEnv, clickHouseOwner } from '../platform/clickhouse/client.js';
import { createOpsServer } from '../platform/http/ops-server.js';
import { createKafka } from '../platform/kafka/client.js';
import { pipelineTopicsSetup } from '../platform/kafka/pipeline-topics.js';
import { createLogger } from '../platform/logging/logger.js';
import { composeComponents } from '../platform/runtime/component.js';
import { runMain } from '../platform/runtime/run-main.js';
import { buildWriter } from './build.js';
import { WriterEnv } from './config.js';

await runMain(async () => {
  const config = parseEnv(WriterEnv, process.env);
  const logger = createLogger('writer', config.LOG_LEVEL);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const topics = topicsWithPrefix(config.KAFKA_TOPIC_PREFIX);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'journey-writer', logger });
  const clickhouse = clickHouseFromEnv(config);
  const component = composeComponents('writer', [
    clickHouseOwner(clickhouse),
    pipelineTopicsSetup(kafka, topics, config.KAFKA_PARTITIONS),
    buildWriter(config, { kafka, clickhouse, topics, registry, logger }),
  ]);
  const ops = createOpsServer({ name: 'writer', host: config.HTTP_HOST, port: config.WRITER_HTTP_PORT, registry, health: () => component.health(), logger });
  return {
    component: composeComponents('writer-main', [component, ops]),
    logger,
    banner: () => `writer: consuming ${topics.customerTouchpoints}, ${topics.sessions}, ... into ClickHouse (${clickhouse.mode}); health at ${ops.address()}/healthz`,
  };
});
