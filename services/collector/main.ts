// `npm run collector`: parse the config once → adapters (Kafka client, metrics, logger) → buildCollector.
import { Registry, collectDefaultMetrics } from 'prom-client';
import { topicsWithPrefix } from '../../schemas/topics.js';
import { parseEnv } from '../platform/config/env.js';
import { createKafka } from '../platform/kafka/client.js';
import { pipelineTopicsSetup } from '../platform/kafka/pipeline-topics.js';
import { createLogger } from '../platform/logging/logger.js';
import { startInBackground } from '../platform/runtime/background-start.js';
import { composeComponents } from '../platform/runtime/component.js';
import { runMain } from '../platform/runtime/run-main.js';
import { buildCollector } from './build.js';
import { CollectorEnv } from './config.js';

await runMain(async () => {
  const config = parseEnv(CollectorEnv, process.env);
  const logger = createLogger('collector', config.LOG_LEVEL);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const topics = topicsWithPrefix(config.KAFKA_TOPIC_PREFIX);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'journey-collector', logger });
  const setup = pipelineTopicsSetup(kafka, topics, config.KAFKA_PARTITIONS);
  const collector = buildCollector(config, { kafka, topics, registry, logger });
  return {
    // Topics are created in the background too: the collector starts before Kafka does.
    component: composeComponents('collector-main', [startInBackground(setup, { logger, retryMs: 2_000 }), collector]),
    logger,
    banner: () => `collector: POST ${collector.address()}/v1/batch (Segment HTTP API); health ${collector.address()}/healthz`,
  };
});
