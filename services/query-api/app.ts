import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import cors from '@fastify/cors';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ClickHouse } from '../platform/clickhouse/client.js';
import type { ApiKey } from './api-keys.js';
import { loggableUrl, requireScope } from './auth.js';
import { createResultCache } from './cache.js';
import { CUSTOMER_ENDPOINTS } from './customer-endpoints.js';
import { registerAdminEndpoints } from './admin-endpoints.js';
import { ENDPOINTS, type EndpointContext } from './endpoints.js';
import { createQueryTimer } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { BadRequestError, NotFoundError, parseQuery } from './params.js';
import { errorBody } from './responses.js';
import { UpstreamError, createQueryRunner } from './runner.js';

export interface QueryApiDeps {
  clickhouse: ClickHouse;
  logger: Logger;
  /** Where `query_api_clickhouse_query_duration_seconds{endpoint,outcome}` is registered. */
  metrics: Registry;
  now: () => number;
  /** Browser origins allowed to call /api (CORS). Default: none besides the dashboard's own. */
  corsOrigins?: string[] | undefined;
  /** Identical requests within this many ms share one answer (default 1000; 0 disables). */
  cacheTtlMs?: number | undefined;
  /** Keys the /api endpoints require (README: API keys); undefined: open (loopback only, see config.ts). */
  apiKeys?: readonly ApiKey[] | undefined;
}

const DASHBOARD_DIR = join(dirname(fileURLToPath(import.meta.url)), 'dashboard');
const ECHARTS_FILE = createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');


/**
 * The query API: read-only JSON endpoints over the journey tables, their OpenAPI document, and the
 * live dashboard at `/`. Every SQL text is fixed in code; request values reach ClickHouse only as
 * bound `{name:Type}` parameters, after zod validation.
 */
export function buildQueryApi(deps: QueryApiDeps): FastifyInstance {
  // The dashboard polls every 2 s: per-request logs go to debug (onResponse hook), not info.
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Path parameters (customer ids, percent-encoded) up to this length reach validation, which
    // answers a clear 400 beyond 256 characters; longer ones get the router's 404.
    maxParamLength: 1_024,
  });
  const ctx: EndpointContext = { db: createQueryRunner(deps.clickhouse, createQueryTimer(deps.metrics)), now: deps.now };

  if (deps.corsOrigins && deps.corsOrigins.length > 0) {
    void app.register(cors, { origin: deps.corsOrigins, methods: ['GET'] });
  }

  const cache = createResultCache(deps.cacheTtlMs ?? 1_000);
  for (const e of [...ENDPOINTS, ...CUSTOMER_ENDPOINTS]) {
    // The key is checked before anything is parsed or cached: a refused request costs no query.
    app.get(e.path, { onRequest: requireScope(deps.apiKeys, e.scope) }, async (request) => {
      const params = e.params ? parseQuery(e.params, request.params) : {};
      const query = parseQuery(e.query, request.query);
      return cache.get(`${e.path} ${JSON.stringify(params)} ${JSON.stringify(query)}`, () => e.handle(query, ctx, params));
    });
  }
  registerAdminEndpoints(app, { clickhouse: deps.clickhouse, apiKeys: deps.apiKeys, now: deps.now });
  const openapi = openApiDocument([...ENDPOINTS, ...CUSTOMER_ENDPOINTS]);
  // Open with keys too, like the dashboard's static files, /healthz and /metrics: none holds customer data.
  app.get('/api/openapi.json', async () => openapi);

  app.get('/vendor/echarts.min.js', (_request, reply) => {
    void reply.type('application/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400');
    return reply.send(createReadStream(ECHARTS_FILE));
  });
  void app.register(fastifyStatic, { root: DASHBOARD_DIR, prefix: '/', index: 'index.html' });

  app.addHook('onResponse', async (request, reply) => {
    request.log.debug({ url: loggableUrl(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(errorBody('not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof BadRequestError) return reply.code(400).send(errorBody('bad_request', error.message));
    if (error instanceof NotFoundError) return reply.code(404).send(errorBody('not_found', error.message));
    if (error instanceof UpstreamError) {
      request.log.error({ err: error.cause, url: loggableUrl(request.url) }, error.message);
      return reply.code(503).send(errorBody('upstream_unavailable', 'the analytics store did not answer; try again'));
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send(errorBody('bad_request', error.message));
    request.log.error({ err: error, url: loggableUrl(request.url) }, 'query-api request failed');
    return reply.code(500).send(errorBody('internal', 'internal error'));
  });

  return app;
}
