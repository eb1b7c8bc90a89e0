import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Topics } from '../../schemas/topics.js';
import type { ClickHouse } from '../platform/clickhouse/client.js';
import type { Logger } from '../platform/logging/logger.js';
import { loadMonitors, type AlerterConfig } from './config.js';
import type { Monitor } from './core/monitors.js';
import { createAlerterService, type AlerterService } from './service.js';
import { createClickHouseWindowSource } from './window-source.js';

export interface AlerterAdapters {
  kafka: Kafka;
  /** Read only (the writer owns migrations and inserts the alerts); opened and closed by the caller. */
  clickhouse: ClickHouse;
  topics: Topics;
  registry: Registry;
  logger: Logger;
  /** Base of dashboard links when ALERTER_DASHBOARD_URL is unset (`npm start`: its own query API). */
  dashboardBase?: string;
}

/**
 * The alerter from its parsed config: `npm run alerter` and `npm start` both build it here. The
 * monitors file is read once, here; any problem in it stops the start.
 */
export function buildAlerter(config: AlerterConfig, adapters: AlerterAdapters): AlerterService & { monitors: readonly Monitor[] } {
  const monitors = loadMonitors(config.ALERTER_MONITORS_FILE, config.ALERTER_DASHBOARD_URL ?? adapters.dashboardBase);
  const alerter = createAlerterService({
    kafka: adapters.kafka,
    topics: adapters.topics,
    source: createClickHouseWindowSource(adapters.clickhouse),
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
    registry: adapters.registry,
    logger: adapters.logger,
  });
  return { ...alerter, monitors };
}
