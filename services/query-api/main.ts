// `npm run query-api`: parse the config once → adapters (ClickHouse as the read-only user, metrics, logger) → buildQueryApi.
import { Registry, collectDefaultMetrics } from 'prom-client';
import { parseEnv } from '../platform/config/env.js';
import { clickHouseFromEnv, clickHouseOwner } from '../platform/clickhouse/client.js';
import { createLogger } from '../platform/logging/logger.js';
import { composeComponents } from '../platform/runtime/component.js';
import { runMain } from '../platform/runtime/run-main.js';
import { buildQueryApi } from './build.js';
import { QueryApiEnv } from './config.js';

await runMain(async () => {
  const config = parseEnv(QueryApiEnv, process.env);
  const logger = createLogger('query-api', config.LOG_LEVEL);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const clickhouse = clickHouseFromEnv(config, { username: config.QUERY_API_CLICKHOUSE_USER, password: config.QUERY_API_CLICKHOUSE_PASSWORD });
  const api = buildQueryApi(config, { clickhouse, registry, logger });
  return {
    component: composeComponents('query-api-main', [clickHouseOwner(clickhouse), api]),
    logger,
    banner: () => `query-api: dashboard at ${api.address()}/ , OpenAPI at ${api.address()}/api/openapi.json`,
  };
});
