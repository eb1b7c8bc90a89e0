import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Topics } from '../../schemas/topics.js';
import { AlerterEnv, loadMonitors } from '../alerter/config.js';
import { createAlerterService } from '../alerter/service.js';
import { createClickHouseWindowSource } from '../alerter/window-source.js';
import type { ClickHouse } from '../platform/clickhouse/client.js';
import { parseEnv } from '../platform/config/env.js';
import type { Logger } from '../platform/logging/logger.js';
import type { Component } from '../platform/runtime/component.js';

/** The alerter as `npm start` runs it: its own settings from the environment, links to the local dashboard. */
export function createLocalAlerter(deps: {
  env: NodeJS.ProcessEnv;
  kafka: Kafka;
  clickhouse: ClickHouse;
  topics: Topics;
  registry: Registry;
  logger: Logger;
  dashboardBase: string;
}): Component {
  const config = parseEnv(AlerterEnv, deps.env);
  const monitors = loadMonitors(config.ALERTER_MONITORS_FILE, config.ALERTER_DASHBOARD_URL ?? deps.dashboardBase);
  return createAlerterService({
    kafka: deps.kafka,
    topics: deps.topics,
    source: createClickHouseWindowSource(deps.clickhouse),
    monitors,
    evaluateEveryMs: config.ALERTER_EVALUATE_EVERY_MS,
    latenessMs: config.ALERTER_LATENESS_MS,
    maxCatchUpMs: config.ALERTER_MAX_CATCH_UP_MS,
    webhook: config.ALERTER_WEBHOOK_URL
      ? { url: config.ALERTER_WEBHOOK_URL, format: config.ALERTER_WEBHOOK_FORMAT, maxQueue: config.ALERTER_WEBHOOK_MAX_QUEUE, maxAttempts: config.ALERTER_WEBHOOK_MAX_ATTEMPTS }
      : undefined,
    registry: deps.registry,
    logger: deps.logger,
  });
}
