import { Registry, collectDefaultMetrics } from 'prom-client';
import { topicsWithPrefix } from '../../schemas/topics.js';
import { clickHouseFromEnv } from '../platform/clickhouse/client.js';
import { parseEnv } from '../platform/config/env.js';
import { createOpsServer } from '../platform/http/ops-server.js';
import { ensureTopics } from '../platform/kafka/admin.js';
import { createKafka } from '../platform/kafka/client.js';
import { pipelineTopicSpecs } from '../platform/kafka/pipeline-topics.js';
import { createLogger } from '../platform/logging/logger.js';
import { composeComponents } from '../platform/runtime/component.js';
import { runMain } from '../platform/runtime/run-main.js';
import { AlerterEnv, loadMonitors } from './config.js';
import { createAlerterService } from './service.js';
import { createClickHouseWindowSource } from './window-source.js';

await runMain(async () => {
  const config = parseEnv(AlerterEnv, process.env);
  const monitors = loadMonitors(config.ALERTER_MONITORS_FILE, config.ALERTER_DASHBOARD_URL);
  const logger = createLogger('alerter', config.LOG_LEVEL);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const topics = topicsWithPrefix(config.KAFKA_TOPIC_PREFIX);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'journey-alerter', logger });
  // The alerter only reads ClickHouse (the writer owns migrations and inserts its alerts).
  const clickhouse = clickHouseFromEnv(config);
  const setup = {
    name: 'setup',
    start: () => ensureTopics(kafka, pipelineTopicSpecs(topics, config.KAFKA_PARTITIONS)),
    stop: () => clickhouse.close(),
    health: () => ({ ok: true }),
  };
  const alerter = createAlerterService({
    kafka,
    topics,
    source: createClickHouseWindowSource(clickhouse),
    monitors,
    evaluateEveryMs: config.ALERTER_EVALUATE_EVERY_MS,
    latenessMs: config.ALERTER_LATENESS_MS,
    maxCatchUpMs: config.ALERTER_MAX_CATCH_UP_MS,
    webhook: config.ALERTER_WEBHOOK_URL
      ? {
          url: config.ALERTER_WEBHOOK_URL,
          format: config.ALERTER_WEBHOOK_FORMAT,
          maxQueue: config.ALERTER_WEBHOOK_MAX_QUEUE,
          maxAttempts: config.ALERTER_WEBHOOK_MAX_ATTEMPTS,
        }
      : undefined,
    registry,
    logger,
  });
  const component = composeComponents('alerter', [setup, alerter]);
  const ops = createOpsServer({ name: 'alerter', host: config.HTTP_HOST, port: config.ALERTER_HTTP_PORT, registry, health: () => component.health(), logger });
  return {
    component: composeComponents('alerter-main', [component, ops]),
    logger,
    banner: () =>
      `alerter: ${monitors.length} monitors from ${config.ALERTER_MONITORS_FILE} on ClickHouse (${clickhouse.mode}) → ${topics.alerts}` +
      `${config.ALERTER_WEBHOOK_URL ? ` + webhook (${config.ALERTER_WEBHOOK_FORMAT})` : ''}; health at ${ops.address()}/healthz`,
  };
});
