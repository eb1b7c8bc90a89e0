import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { ClickHouse } from '../platform/clickhouse/client.js';
import { registerOpsRoutes } from '../platform/http/ops-routes.js';
import type { Logger } from '../platform/logging/logger.js';
import type { Component, Health } from '../platform/runtime/component.js';
import type { ApiKey } from './api-keys.js';
import { buildQueryApi } from './app.js';

export interface QueryApiServiceDeps {
  clickhouse: ClickHouse;
  host: string;
  port: number;
  corsOrigins: string[];
  apiKeys?: readonly ApiKey[] | undefined;
  registry: Registry;
  logger: Logger;
  extraHealth?: () => Health;
  now?: () => number;
}

export function createQueryApiService(deps: QueryApiServiceDeps): Component & { address(): string; app(): FastifyInstance } {
  const app = buildQueryApi({
    clickhouse: deps.clickhouse,
    logger: deps.logger.child({ service: 'query-api' }),
    metrics: deps.registry,
    now: deps.now ?? Date.now,
    corsOrigins: deps.corsOrigins,
    apiKeys: deps.apiKeys,
  });
  let address = '';
  const health = (): Health => {
    const extra = deps.extraHealth?.();
    return { ok: address !== '' && (extra?.ok ?? true), details: { listening: address !== '', ...(extra ? { pipeline: extra } : {}) } };
  };
  registerOpsRoutes(app, { registry: deps.registry, health });
  return {
    name: 'query-api',
    async start() {
      address = await app.listen({ host: deps.host, port: deps.port });
    },
    async stop() {
      await app.close();
    },
    health,
    address: () => address,
    app: () => app,
  };
}
