import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import type { IncomingMessage } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { CALL_TYPES } from '../../../schemas/touchpoint.js';
import { MAX_REQUEST_BYTES } from '../../platform/segment/limits.js';
import { indexSourcesByWriteKey, type SourceConfig } from '../../platform/segment/source-config.js';
import { SinkUnavailableError, type TouchpointSink } from '../../platform/segment/sink.js';
import { authHooks } from './auth.js';
import { parseJsonBody, readRequestBody } from './body.js';
import { corsDelegator } from './cors.js';
import { CollectorHttpError, errorBody, REJECT_REASON_OF, type ErrorCode } from './errors.js';
import { collectorMetrics, countRejected, UNKNOWN_SOURCE, type CollectorMetrics } from './metrics.js';
import { clockedRateLimitStore } from './rate-limit-store.js';
import { beginRequest, sourceOf, stateOf } from './request-state.js';
import { BATCH_PATHS, collectorHandlers, SINGLE_CALL_PATHS } from './routes.js';

export interface CollectorDeps {
  sink: TouchpointSink;
  sources: readonly SourceConfig[];
  logger: Logger;
  /** Registry the collector_* metrics are registered on (the platform serves it). */
  metrics: Registry;
  /** Wall clock in epoch ms: receivedAt, clock-skew correction and rate-limit windows. */
  now: () => number;
  /** For events that arrive without a messageId. */
  newMessageId: () => string;
}

const RATE_LIMIT_WINDOW_MS = 1_000;

/**
 * The Segment-compatible HTTP collector. Point a Segment or RudderStack SDK's host here and it works:
 * POST /v1/{batch,b,import,track,t,identify,i,page,p,screen,s,group,g,alias,a}.
 * Request pipeline: CORS (onRequest) → header auth (onRequest) → body read with limits and gzip
 * (content-type parser) → body auth + origin check (preHandler) → per-key rate limit (preHandler)
 * → validate, convert, sink → 200 only once the sink has resolved.
 */
export function buildCollectorApp(deps: CollectorDeps): FastifyInstance {
  const byKey = indexSourcesByWriteKey(deps.sources);
  const metrics = collectorMetrics(deps.metrics);
  const app = Fastify({
    // Typed as the base logger so the app is a plain FastifyInstance for the platform's helpers.
    loggerInstance: deps.logger as FastifyBaseLogger,
    // The default request log would be one line per request with URLs only; ours adds source and counts.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_REQUEST_BYTES,
  });

  app.register(cors, { delegator: corsDelegator(deps.sources, byKey) });
  app.register(rateLimit, {
    global: true,
    // After auth: the limit is per write key, and a body key is only known once the body is parsed.
    hook: 'preHandler',
    store: clockedRateLimitStore(deps.now),
    timeWindow: RATE_LIMIT_WINDOW_MS,
    keyGenerator: (request) => sourceOf(request)?.writeKey ?? '',
    max: (request) => sourceOf(request)?.rateLimitPerSecond ?? 1,
    // Only authenticated requests reach a limiter; this skips the CORS plugin's OPTIONS route.
    allowList: (request) => sourceOf(request) === null,
    errorResponseBuilder: (_request, context) =>
      new CollectorHttpError(429, 'rate_limited', `rate limit of ${context.max} requests per second exceeded; retry in ${context.after}`),
  });

  app.register(async (api) => {
    // Every body, whatever its Content-Type (analytics.js sends JSON as text/plain), is JSON.
    api.removeAllContentTypeParsers();
    api.addContentTypeParser('*', async (request: FastifyRequest, payload: IncomingMessage) => {
      const bytes = await readRequestBody(payload, request.headers, MAX_REQUEST_BYTES);
      const body = parseJsonBody(bytes);
      // Kept for the route: event sizes come from these bytes instead of serializing every event again.
      stateOf(request).body = bytes;
      return body;
    });

    api.addHook('onRequest', async (request) => void beginRequest(request, deps.now()));
    const auth = authHooks(byKey);
    api.addHook('onRequest', auth.authenticateHeader);
    api.addHook('preHandler', auth.authenticateBody);

    const handlers = collectorHandlers({ sink: deps.sink, metrics, newMessageId: deps.newMessageId });
    for (const path of BATCH_PATHS) api.post(path, handlers.batch);
    for (const type of CALL_TYPES) {
      for (const path of SINGLE_CALL_PATHS[type]) api.post(path, handlers.single(type));
    }
  });

  app.setNotFoundHandler((_request, reply) => {
    reply.code(404).send(errorBody('not_found', 'no such endpoint; the collector serves POST /v1/batch, /v1/track, ...'));
  });
  app.setErrorHandler((error: FastifyError, request, reply) => answerError(error, request, reply, metrics));
  app.addHook('onResponse', async (request, reply) => observeResponse(request, reply, metrics));
  return app;
}

/** Maps every failure to `{ error: { code, message } }`; 5xx answers never carry internals. */
function answerError(error: FastifyError, request: FastifyRequest, reply: FastifyReply, metrics: CollectorMetrics): FastifyReply {
  const state = stateOf(request);
  const source = state.source?.sourceId ?? UNKNOWN_SOURCE;

  if (error instanceof SinkUnavailableError) {
    request.log.warn({ err: error, source }, 'sink unavailable');
    countRejected(metrics, source, 'unavailable', state.inFlight);
    return reply.code(503).header('retry-after', String(error.retryAfterSeconds)).send(errorBody('unavailable', 'the collector cannot store events right now; retry later'));
  }

  const known = error instanceof CollectorHttpError ? error : fromFastifyError(error);
  if (known !== null) {
    // Event-level refusals were counted per event when they were dead-lettered.
    if (known.code !== 'invalid_event' && known.code !== 'event_too_large') countRejected(metrics, source, REJECT_REASON_OF[known.code]);
    return reply.code(known.statusCode).send(errorBody(known.code, known.message));
  }

  request.log.error({ err: error, source }, 'collector request failed');
  countRejected(metrics, source, 'internal', Math.max(1, state.inFlight));
  return reply.code(500).send(errorBody('internal', 'internal error'));
}

/** Fastify's own 4xx errors (e.g. a body on a wrong method) as collector errors; null for anything else. */
function fromFastifyError(error: FastifyError): CollectorHttpError | null {
  const status = error.statusCode ?? 500;
  if (status === 413) return new CollectorHttpError(400, 'request_too_large', `request body exceeds ${MAX_REQUEST_BYTES} bytes`);
  if (status >= 400 && status < 500) {
    const code: ErrorCode = error.code?.startsWith('FST_ERR_CTP') ? 'invalid_body' : 'bad_request';
    return new CollectorHttpError(400, code, 'bad request');
  }
  return null;
}

/** One structured access-log line per request: ids and counts, never bodies, traits or emails. */
function observeResponse(request: FastifyRequest, reply: FastifyReply, metrics: CollectorMetrics): void {
  const route = request.routeOptions.url ?? 'unmatched';
  metrics.requestDuration.observe({ route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);

  const state = stateOf(request);
  const line = {
    route,
    method: request.method,
    statusCode: reply.statusCode,
    source: state.source?.sourceId ?? null,
    accepted: state.accepted,
    rejected: state.rejected,
    durationMs: Math.round(reply.elapsedTime * 10) / 10,
  };
  if (reply.statusCode >= 500) request.log.warn(line, 'request failed');
  else if (reply.statusCode >= 400) request.log.info(line, 'request refused');
  else request.log.debug(line, 'request handled');
}
