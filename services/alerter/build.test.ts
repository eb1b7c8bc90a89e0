import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { topicsWithPrefix } from '../../schemas/topics.js';
import type { ClickHouse } from '../platform/clickhouse/client.js';
import { parseEnv } from '../platform/config/env.js';
import { createKafka } from '../platform/kafka/client.js';
import { createLogger } from '../platform/logging/logger.js';
import { buildAlerter } from './build.js';
import { AlerterEnv } from './config.js';

// Built only, never started: nothing here connects to Kafka or ClickHouse.
const adapters = () => {
  const logger = createLogger('test', 'silent');
  return {
    kafka: createKafka({ brokers: ['127.0.0.1:1'], clientId: 'build-test', logger }),
    clickhouse: { database: 'journey' } as ClickHouse,
    topics: topicsWithPrefix(''),
    registry: new Registry(),
    logger,
  };
};

describe('buildAlerter', () => {
  it('runs the churn hand-off beside the monitors only when CHURN_WEBHOOK_URL is set, with its metrics', async () => {
    const off = buildAlerter(parseEnv(AlerterEnv, {}), adapters());
    expect(off.churnHandoff).toBeNull();
    expect(Object.keys(off.health().details ?? {})).not.toContain('churn-handoff');

    const a = adapters();
    const on = buildAlerter(parseEnv(AlerterEnv, { CHURN_WEBHOOK_URL: 'http://127.0.0.1:9/churn' }), a);
    expect(on.churnHandoff).not.toBeNull();
    expect(Object.keys(on.health().details ?? {})).toEqual(['alerter', 'churn-handoff']);
    const names = (await a.registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('alerter_churn_webhook'));
    expect(names.sort()).toEqual(['alerter_churn_webhook_failed_total', 'alerter_churn_webhook_queue_depth', 'alerter_churn_webhook_retried_total', 'alerter_churn_webhook_sent_total']);
  });
});
