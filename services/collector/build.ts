import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Topics } from '../../schemas/topics.js';
import type { Logger } from '../platform/logging/logger.js';
import type { Health } from '../platform/runtime/component.js';
import { loadSources } from '../platform/segment/sources-file.js';
import type { CollectorConfig } from './config.js';
import { createCollectorService } from './service.js';

export interface CollectorAdapters {
  kafka: Kafka;
  topics: Topics;
  registry: Registry;
  logger: Logger;
  /** Health of everything else in the process, for /healthz when services share one process (`npm start`). */
  extraHealth?: () => Health;
}

/**
 * The collector from its parsed config: `npm run collector` and `npm start` both build it here, so
 * every COLLECTOR_* setting means the same in both. The sources file is read once, here.
 */
export function buildCollector(config: CollectorConfig, adapters: CollectorAdapters) {
  return createCollectorService({
    kafka: adapters.kafka,
    topics: adapters.topics,
    sources: loadSources(config.COLLECTOR_SOURCES_FILE),
    host: config.HTTP_HOST,
    port: config.COLLECTOR_HTTP_PORT,
    sendTimeoutMs: config.COLLECTOR_SEND_TIMEOUT_MS,
    maxInFlightEvents: config.COLLECTOR_MAX_IN_FLIGHT_EVENTS,
    maxInFlightBytes: config.COLLECTOR_MAX_IN_FLIGHT_BYTES,
    lingerMs: config.COLLECTOR_LINGER_MS,
    maxForgottenIds: config.FORGOTTEN_IDS_MAX,
    registry: adapters.registry,
    logger: adapters.logger,
    extraHealth: adapters.extraHealth,
  });
}
