import { Registry, collectDefaultMetrics } from 'prom-client';
import { parseEnv } from '../platform/config/env.js';
import { clickHouseFromEnv } from '../platform/clickhouse/client.js';
import { createLogger } from '../platform/logging/logger.js';
import { composeComponents } from '../platform/runtime/component.js';
import { runMain } from '../platform/runtime/run-main.js';
import { QueryApiEnv } from './config.js';
import { createQueryApiService } from './service.js';

await runMain(async () => {
  const config = parseEnv(QueryApiEnv, process.env);
  const logger = createLogger('query-api', config.LOG_LEVEL);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const clickhouse = clickHouseFromEnv(config, { username: config.QUERY_API_CLICKHOUSE_USER, password: config.QUERY_API_CLICKHOUSE_PASSWORD });
  const api = createQueryApiService({ clickhouse, host: config.HTTP_HOST, port: config.QUERY_API_HTTP_PORT, corsOrigins: config.QUERY_API_CORS_ORIGINS, registry, logger });
  const closeClickHouse = { name: 'clickhouse', start: async () => {}, stop: () => clickhouse.close(), health: () => ({ ok: true }) };
  return {
    component: composeComponents('query-api-main', [closeClickHouse, api]),
    logger,
    banner: () => `query-api: dashboard at ${api.address()}/ , OpenAPI at ${api.address()}/api/openapi.json`,
  };
});
