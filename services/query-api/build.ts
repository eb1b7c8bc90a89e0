import type { Registry } from 'prom-client';
import type { ClickHouse } from '../platform/clickhouse/client.js';
import type { Logger } from '../platform/logging/logger.js';
import type { Health } from '../platform/runtime/component.js';
import { apiKeysFromConfig } from './config.js';
import type { QueryApiConfig } from './config.js';
import { createQueryApiService } from './service.js';

export interface QueryApiAdapters {
  /** Opened and closed by the caller: alone, as the read-only user; in `npm start`, the one shared embedded engine. */
  clickhouse: ClickHouse;
  registry: Registry;
  logger: Logger;
  /** Health of everything else in the process, for /healthz when services share one process (`npm start`). */
  extraHealth?: () => Health;
}

/**
 * The query API from its parsed config: `npm run query-api` and `npm start` both build it here.
 * Throws a ConfigError (exit 2) for a bad keys file, or for a non-loopback host without one.
 */
export function buildQueryApi(config: QueryApiConfig, adapters: QueryApiAdapters) {
  return createQueryApiService({
    clickhouse: adapters.clickhouse,
    host: config.HTTP_HOST,
    port: config.QUERY_API_HTTP_PORT,
    corsOrigins: config.QUERY_API_CORS_ORIGINS,
    apiKeys: apiKeysFromConfig(config),
    registry: adapters.registry,
    logger: adapters.logger,
    extraHealth: adapters.extraHealth,
  });
}
