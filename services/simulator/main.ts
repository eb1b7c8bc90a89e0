
import { topicCodecs, topicsWithPrefix } from '../../schemas/topics.js';
import { loadSources } from '../collector/config.js';
import { createKafkaTouchpointSink } from '../collector/kafka-sink.js';
import { parseEnv } from '../platform/config/env.js';
import { createKafka } from '../platform/kafka/client.js';
import { createKafkaProducer } from '../platform/kafka/producer.js';
import { createLogger } from '../platform/logging/logger.js';
import { composeComponents, type Component } from '../platform/runtime/component.js';
import { runMain } from '../platform/runtime/run-main.js';
import { createSimulator } from './core/generator.js';
import { simulatorConfigFrom, SimulatorEnv } from './config.js';
import { createPacer } from './pacer.js';
import { createHttpSender } from './senders/http-sender.js';
import { createKafkaSender } from './senders/kafka-sender.js';

await runMain(async () => {
  const config = parseEnv(SimulatorEnv, process.env);
  const simConfig = simulatorConfigFrom(config);
  const logger = createLogger('simulator', config.LOG_LEVEL);
  const simulator = createSimulator(simConfig, {
    startTime: Date.now(),
    ...(config.SIMULATOR_MAX_JOURNEYS > 0 ? { maxJourneys: config.SIMULATOR_MAX_JOURNEYS } : {}),
  });
  const parts: Component[] = [];
  let sender;
  if (config.SIMULATOR_TARGET === 'http') {
    sender = createHttpSender({ collectorUrl: () => config.COLLECTOR_URL, batchSize: config.SIMULATOR_BATCH_SIZE, concurrency: config.SIMULATOR_CONCURRENCY, maxRetries: 20 });
  } else {
    const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'journey-simulator', logger });
    const producer = createKafkaProducer(kafka, { name: 'simulator' });
    parts.push(producer);
    const topics = topicsWithPrefix(config.KAFKA_TOPIC_PREFIX);
    const sink = createKafkaTouchpointSink({ producer, topics, touchpointCodec: topicCodecs.touchpoints(), deadLetterCodec: topicCodecs.deadLetter(), sendTimeoutMs: 30_000, maxInFlightEvents: 1e9, maxInFlightBytes: Number.MAX_SAFE_INTEGER });
    sender = createKafkaSender({ sink, sources: loadSources(config.COLLECTOR_SOURCES_FILE), now: Date.now, batchSize: config.SIMULATOR_BATCH_SIZE });
  }
  const pacer = createPacer({ simulator, sender, mode: config.SIMULATOR_MODE, tickMs: 200, chunk: config.SIMULATOR_BATCH_SIZE * config.SIMULATOR_CONCURRENCY, logger });
  const component = composeComponents('simulator', [...parts, pacer]);
  return {
    component,
    logger,
    banner: () => `simulator: ${config.SIMULATOR_MODE} at ${config.SIMULATOR_RATE} calls/s (seed ${config.SIMULATOR_SEED}) → ${config.SIMULATOR_TARGET === 'http' ? config.COLLECTOR_URL : 'Kafka'}`,
  };
});
