// `npm start`: the whole pipeline in one process — local broker, embedded ClickHouse, every
// service, and simulated demo traffic through the collector — and where to look.
// Parse the config once → shared adapters → composeLocal (each service's own build) → banner.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { topicsWithPrefix } from '../../schemas/topics.js';
import { parseEnv } from '../platform/config/env.js';
import { clickHouseFromEnv } from '../platform/clickhouse/client.js';
import { createKafka } from '../platform/kafka/client.js';
import { createLogger } from '../platform/logging/logger.js';
import { composeComponents } from '../platform/runtime/component.js';
import { runMain } from '../platform/runtime/run-main.js';
import { apiKeysFromConfig, isLoopbackHost } from '../query-api/config.js';
import { ensureLocalBroker } from './broker.js';
import { composeLocal } from './compose.js';
import { LocalEnv } from './config.js';
import { totalLag } from './health.js';
import { ensureLocalApiKey } from './local-api-key.js';
import { createProgressReporter } from './progress.js';

await runMain(async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...(process.argv.includes('--no-demo') ? { DEMO: 'false' } : {}) };
  const parsed = parseEnv(LocalEnv, env);
  const dataDir = resolve(parsed.DATA_DIR);
  // No keys file: on loopback, a local key kept in DATA_DIR; elsewhere, refuse (exit 2) before the broker starts.
  const localKey =
    parsed.QUERY_API_KEYS_FILE === undefined && isLoopbackHost(parsed.HTTP_HOST)
      ? ensureLocalApiKey(dataDir, () => randomBytes(32).toString('base64url'))
      : undefined;
  const keysFile = parsed.QUERY_API_KEYS_FILE ?? localKey?.file;
  apiKeysFromConfig({ ...parsed, QUERY_API_KEYS_FILE: keysFile });
  const config = { ...parsed, QUERY_API_KEYS_FILE: keysFile, DATA_DIR: dataDir, KAFKA_BROKERS: parsed.KAFKA_BROKERS ?? ensureLocalBroker(dataDir, env) };
  const logger = createLogger('journey', config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const topics = topicsWithPrefix(config.KAFKA_TOPIC_PREFIX);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'journey-local', logger });
  const clickhouse = clickHouseFromEnv(config);
  const { services, demo, queryApi, collector } = composeLocal(config, { kafka, clickhouse, topics, registry, logger });
  const progress = createProgressReporter({
    registry,
    lag: () => totalLag(services.health()),
    healthy: () => services.health().ok,
    write: (line) => process.stdout.write(`${line}\n`),
    everyMs: config.PROGRESS_EVERY_MS,
  });
  return {
    component: composeComponents('journey-local', [services, demo, progress]),
    logger,
    shutdownTimeoutMs: 60_000,
    banner: () =>
      [
        '',
        'journey pipeline is running (Ctrl-C stops it; the broker keeps running: npm run infra:down)',
        localKey
          ? `  dashboard     ${queryApi.address()}/?key=${localKey.key}  (local key, ${localKey.created ? 'new' : 'kept'} in ${localKey.file})`
          : `  dashboard     ${queryApi.address()}/  (keys from ${config.QUERY_API_KEYS_FILE})`,
        `  query API     ${queryApi.address()}/api/openapi.json  (Authorization: Bearer <key>)`,
        `  collector     POST ${collector.address()}/v1/batch  (Segment HTTP API; demo write key: wk_shop_web)`,
        `  health        ${collector.address()}/healthz   metrics ${collector.address()}/metrics`,
        `  Kafka         ${config.KAFKA_BROKERS.join(',')}   ClickHouse ${clickhouse.mode === 'embedded' ? `embedded in ${dataDir}/clickhouse` : config.CLICKHOUSE_URL}`,
        `  demo traffic  ${config.DEMO ? `${config.SIMULATOR_RATE} events/s (seed ${config.SIMULATOR_SEED}); --no-demo turns it off` : 'off'}`,
        '',
      ].join('\n'),
  };
});
