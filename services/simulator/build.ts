import type { Kafka } from 'kafkajs';
import { topicCodecs, type Topics } from '../../schemas/topics.js';
import { loadSources } from '../platform/segment/sources-file.js';
import { createKafkaTouchpointSink } from '../platform/kafka/touchpoint-sink.js';
import { createKafkaProducer } from '../platform/kafka/producer.js';
import type { Logger } from '../platform/logging/logger.js';
import { composeComponents, type Component } from '../platform/runtime/component.js';
import { createSimulator } from './core/generator.js';
import { simulatorConfigFrom, type SimulatorEnvConfig } from './config.js';
import { createPacer } from './pacer.js';
import type { CallSender } from './senders/call-sender.js';
import { createHttpSender } from './senders/http-sender.js';
import { createKafkaSender } from './senders/kafka-sender.js';

export interface SimulatorAdapters {
  /** Used only with SIMULATOR_TARGET=kafka (a kafkajs client connects nothing until a part starts). */
  kafka: Kafka;
  topics: Topics;
  logger: Logger;
  /** Where SIMULATOR_TARGET=http sends; default COLLECTOR_URL. `npm start`: its own collector, once it listens. */
  collectorUrl?: () => string;
  now?: () => number;
}

/**
 * The simulator from its parsed config: `npm run simulator` and `npm start`'s demo traffic both
 * build it here. The config file (SIMULATOR_CONFIG_FILE) is read once, here.
 */
export function buildSimulator(config: SimulatorEnvConfig, adapters: SimulatorAdapters): Component {
  const now = adapters.now ?? Date.now;
  const startTime = now();
  const simulator = createSimulator(simulatorConfigFrom(config), {
    startTime,
    ...(config.SIMULATOR_MAX_JOURNEYS > 0 ? { maxJourneys: config.SIMULATOR_MAX_JOURNEYS } : {}),
    // The same seed brings the same people back on every run, but their calls are new: a messageId
    // the pipeline saw in an earlier run would be dropped as an SDK retry.
    messageIdPrefix: `m-${config.SIMULATOR_SEED}-${startTime.toString(36)}-`,
  });
  const parts: Component[] = [];
  let sender: CallSender;
  if (config.SIMULATOR_TARGET === 'http') {
    sender = createHttpSender({ collectorUrl: adapters.collectorUrl ?? (() => config.COLLECTOR_URL), batchSize: config.SIMULATOR_BATCH_SIZE, concurrency: config.SIMULATOR_CONCURRENCY, maxRetries: 20 });
  } else {
    const producer = createKafkaProducer(adapters.kafka, { name: 'simulator' });
    parts.push(producer);
    const sink = createKafkaTouchpointSink({ producer, topics: adapters.topics, touchpointCodec: topicCodecs.touchpoints(), deadLetterCodec: topicCodecs.deadLetter(), sendTimeoutMs: 30_000, maxInFlightEvents: 1e9, maxInFlightBytes: Number.MAX_SAFE_INTEGER });
    sender = createKafkaSender({ sink, sources: loadSources(config.COLLECTOR_SOURCES_FILE), now, batchSize: config.SIMULATOR_BATCH_SIZE });
  }
  const pacer = createPacer({ simulator, sender, mode: config.SIMULATOR_MODE, tickMs: 200, chunk: config.SIMULATOR_BATCH_SIZE * config.SIMULATOR_CONCURRENCY, logger: adapters.logger });
  return composeComponents('simulator', [...parts, pacer]);
}
