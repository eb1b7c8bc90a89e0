// `npm run sessionizer`: parse the config once → adapters (Kafka client, metrics, logger) → buildSessionizer, plus /healthz.
import { Registry, collectDefaultMetrics } from 'prom-client';
import { topicsWithPrefix } from '../../schemas/topics.js';
import { parseEnv } from '../platform/config/env.js';
import { createOpsServer } from '../platform/http/ops-server.js';
import { createKafka } from '../platform/kafka/client.js';
import { pipelineTopicsSetup } from '../platform/kafka/pipeline-topics.js';
import { createLogger } from '../platform/logging/logger.js';
import { composeComponents } from '../platform/runtime/component.js';
import { runMain } from '../platform/runtime/run-main.js';
import { buildSessionizer } from './build.js';
import { SessionizerEnv } from './config.js';

await runMain(async () => {
  const config = parseEnv(SessionizerEnv, process.env);
  const logger = createLogger('sessionizer', config.LOG_LEVEL);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const topics = topicsWithPrefix(config.KAFKA_TOPIC_PREFIX);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'journey-sessionizer', logger });
  const setup = pipelineTopicsSetup(kafka, topics, config.KAFKA_PARTITIONS);
  const component = composeComponents('sessionizer', [setup, buildSessionizer(config, { kafka, topics, registry, logger })]);
  const ops = createOpsServer({ name: 'sessionizer', host: config.HTTP_HOST, port: config.SESSIONIZER_HTTP_PORT, registry, health: () => component.health(), logger });
  return {
    component: composeComponents('sessionizer-main', [component, ops]),
    logger,
    banner: () => `sessionizer: ${topics.touchpoints} → ${topics.customerTouchpoints} + ${topics.sessions}; health at ${ops.address()}/healthz`,
  };
});
