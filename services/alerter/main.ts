// `npm run alerter`: parse the config once → adapters (Kafka client, ClickHouse, metrics, logger) → buildAlerter, plus /healthz.
import { Registry, collectDefaultMetrics } from 'prom-client';
import { topicsWithPrefix } from '../../schemas/topics.js';
import { clickHouseFromEnv, clickHouseOwner } from '../platform/clickhouse/client.js';
import { parseEnv } from '../platform/config/env.js';
import { createOpsServer } from '../platform/http/ops-server.js';
import { createKafka } from '../platform/kafka/client.js';
import { pipelineTopicsSetup } from '../platform/kafka/pipeline-topics.js';
import { createLogger } from '../platform/logging/logger.js';
import { composeComponents } from '../platform/runtime/component.js';
import { runMain } from '../platform/runtime/run-main.js';
import { buildAlerter } from './build.js';
import { AlerterEnv } from './config.js';

await runMain(async () => {
  const config = parseEnv(AlerterEnv, process.env);
  const logger = createLogger('alerter', config.LOG_LEVEL);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const topics = topicsWithPrefix(config.KAFKA_TOPIC_PREFIX);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'journey-alerter', logger });
  const clickhouse = clickHouseFromEnv(config);
  const alerter = buildAlerter(config, { kafka, clickhouse, topics, registry, logger });
  const component = composeComponents('alerter', [clickHouseOwner(clickhouse), pipelineTopicsSetup(kafka, topics, config.KAFKA_PARTITIONS), alerter]);
  const ops = createOpsServer({ name: 'alerter', host: config.HTTP_HOST, port: config.ALERTER_HTTP_PORT, registry, health: () => component.health(), logger });
  return {
    component: composeComponents('alerter-main', [component, ops]),
    logger,
    banner: () =>
      `alerter: ${alerter.monitors.length} monitors from ${config.ALERTER_MONITORS_FILE} on ClickHouse (${clickhouse.mode}) → ${topics.alerts}` +
      `${config.ALERTER_WEBHOOK_URL ? ` + webhook (${config.ALERTER_WEBHOOK_FORMAT})` : ''}` +
      `${alerter.churnHandoff ? `; ${topics.churnAlerts} → churn webhook` : ''}; health at ${ops.address()}/healthz`,
  };
});
