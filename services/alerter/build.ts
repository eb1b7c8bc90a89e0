import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Topics } from '../../schemas/topics.js';
import type { ClickHouse } from '../platform/clickhouse/client.js';
import type { Logger } from '../platform/logging/logger.js';
import { consumerTuning } from '../platform/kafka/consumer-tuning.js';
import { composeComponents, type Component } from '../platform/runtime/component.js';
import { createChurnHandoff, type ChurnHandoff } from './churn-handoff/component.js';
import { loadMonitors, type AlerterConfig } from './config.js';
import type { Monitor } from './core/monitors.js';
import { createAlerterService } from './service.js';
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
 * monitors file is read once, here; any problem in it stops the start. With CHURN_WEBHOOK_URL,
 * the churn hand-off (`churn-alerts` → webhook) runs beside the monitors.
 */
export function buildAlerter(config: AlerterConfig, adapters: AlerterAdapters): Component & { monitors: readonly Monitor[]; churnHandoff: ChurnHandoff | null } {
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
  const churnHandoff = config.CHURN_WEBHOOK_URL
    ? createChurnHandoff({
        kafka: adapters.kafka,
        topics: adapters.topics,
        url: config.CHURN_WEBHOOK_URL,
        maxQueue: config.CHURN_WEBHOOK_MAX_QUEUE,
        maxAttempts: config.CHURN_WEBHOOK_MAX_ATTEMPTS,
        timeoutMs: config.CHURN_WEBHOOK_TIMEOUT_MS,
        tuning: consumerTuning(config),
        registry: adapters.registry,
        logger: adapters.logger,
      })
    : null;
  const component = churnHandoff ? composeComponents('alerter', [alerter, churnHandoff]) : alerter;
  return { name: component.name, start: () => component.start(), stop: () => component.stop(), health: () => component.health(), monitors, churnHandoff };
}
