import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { topicsWithPrefix } from '../../schemas/topics.js';
import { createClickHouse } from '../platform/clickhouse/client.js';
import { parseEnv } from '../platform/config/env.js';
import { createKafka } from '../platform/kafka/client.js';
import { createLogger } from '../platform/logging/logger.js';
import { composeLocal } from './compose.js';
import { LocalEnv } from './config.js';

// Nothing here is started: the composition is only built, and the HTTP apps answer through inject.
// Neither adapter connects before a part starts (kafkajs dials on connect, the ClickHouse client on a query).
const opened: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (opened.length > 0) await opened.pop()!();
});

function compose(env: NodeJS.ProcessEnv) {
  const config = { ...parseEnv(LocalEnv, env), KAFKA_BROKERS: ['127.0.0.1:9'], DATA_DIR: mkdtempSync(join(tmpdir(), 'journey-compose-')) };
  const logger = createLogger('compose-test', 'silent');
  const clickhouse = createClickHouse({ url: 'http://127.0.0.1:9', database: config.CLICKHOUSE_DATABASE, dataDir: config.DATA_DIR });
  const local = composeLocal(config, {
    kafka: createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'compose-test', logger }),
    clickhouse,
    topics: topicsWithPrefix(config.KAFKA_TOPIC_PREFIX),
    registry: new Registry(),
    logger,
  });
  opened.push(() => clickhouse.close(), () => local.collector.app().close(), () => local.queryApi.app().close());
  return local;
}

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
const batchOf = (n: number) => ({ batch: Array.from({ length: n }, (_, i) => ({ type: 'track', event: 'Product Viewed', userId: `u-${i}`, messageId: `m-${i}` })) });

describe('npm start composes each service from its own build and settings', () => {
  it("the collector sheds load at the COLLECTOR_MAX_IN_FLIGHT_EVENTS given to npm start (not a limit of npm start's own)", async () => {
    const { collector } = compose({ COLLECTOR_MAX_IN_FLIGHT_EVENTS: '100' });
    const post = (n: number) =>
      collector.app().inject({ method: 'POST', url: '/v1/batch', headers: { 'content-type': 'application/json', authorization: basic('wk_shop_web') }, payload: JSON.stringify(batchOf(n)) });
    // 101 events can never fit under a limit of 100: refused at once, before any broker is asked.
    const refused = await post(101);
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
  });

  it('the collector reads the sources file named by COLLECTOR_SOURCES_FILE', () => {
    expect(() => compose({ COLLECTOR_SOURCES_FILE: 'no/such/sources.yaml' })).toThrow(/COLLECTOR_SOURCES_FILE no\/such\/sources.yaml/);
  });

  it('the query API allows the QUERY_API_CORS_ORIGINS given to npm start', async () => {
    const { queryApi } = compose({ QUERY_API_CORS_ORIGINS: 'https://dash.example' });
    const response = await queryApi.app().inject({ method: 'OPTIONS', url: '/api/openapi.json', headers: { origin: 'https://dash.example', 'access-control-request-method': 'GET' } });
    expect(response.headers['access-control-allow-origin']).toBe('https://dash.example');
  });

  it('the demo traffic is the simulator, and --no-demo (DEMO=false) leaves it out', () => {
    // Through HTTP to this process's collector, the simulator has one part: its pacer.
    expect(Object.keys(compose({}).demo.health().details ?? {})).toEqual(['simulator']);
    expect(compose({ DEMO: 'false' }).demo.health()).toEqual({ ok: true, details: { enabled: false } });
  });
});
