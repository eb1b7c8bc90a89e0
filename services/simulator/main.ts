// `npm run simulator`: parse the config once → adapters (Kafka client, logger) → buildSimulator.
import { topicsWithPrefix } from '../../schemas/topics.js';
import { parseEnv } from '../platform/config/env.js';
import { createKafka } from '../platform/kafka/client.js';
import { createLogger } from '../platform/logging/logger.js';
import { runMain } from '../platform/runtime/run-main.js';
import { buildSimulator } from './build.js';
import { SimulatorEnv } from './config.js';

await runMain(async () => {
  const config = parseEnv(SimulatorEnv, process.env);
  const logger = createLogger('simulator', config.LOG_LEVEL);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'journey-simulator', logger });
  const component = buildSimulator(config, { kafka, topics: topicsWithPrefix(config.KAFKA_TOPIC_PREFIX), logger });
  return {
    component,
    logger,
    banner: () => `simulator: ${config.SIMULATOR_MODE} at ${config.SIMULATOR_RATE} calls/s (seed ${config.SIMULATOR_SEED}) → ${config.SIMULATOR_TARGET === 'http' ? config.COLLECTOR_URL : 'Kafka'}`,
  };
});
