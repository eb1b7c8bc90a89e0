import type { FastifyCorsOptions, FastifyCorsOptionsDelegateCallback } from '@fastify/cors';
import { originAllowed, type SourceConfig } from '../../platform/segment/source-config.js';
import { writeKeyFromAuthorization } from './write-key.js';

/**
 * Per-write-key CORS, in two steps because the key is not always known when CORS runs:
 *
 *  - Preflights (OPTIONS) carry no credentials, so no key: they are allowed for the UNION of all
 *    sources' origins.
 *  - Actual requests with `Authorization: Basic` are judged against that key's own allow-list here.
 *    Requests with the key in the body (analytics.js sends text/plain, which needs no preflight)
 *    get the union here, and the auth step re-checks the origin against the key's list once the
 *    body is parsed, answering 403 `origin_denied`. That server-side check is what actually
 *    enforces the list: a simple request is processed even when the browser hides the response.
 */
export function corsDelegator(sources: readonly SourceConfig[], byKey: ReadonlyMap<string, SourceConfig>): FastifyCorsOptionsDelegateCallback {
  const union: Pick<SourceConfig, 'allowedOrigins'> = { allowedOrigins: sources.flatMap((s) => s.allowedOrigins) };

  return (request, callback) => {
    const origin = request.headers.origin;
    if (origin === undefined) return callback(null, corsOptions(false));
    if (request.method === 'OPTIONS') return callback(null, corsOptions(originAllowed(union, origin)));

    const key = writeKeyFromAuthorization(request.headers.authorization);
    if (key === null) return callback(null, corsOptions(originAllowed(union, origin)));
    const source = byKey.get(key);
    return callback(null, corsOptions(source !== undefined && originAllowed(source, origin)));
  };
}

function corsOptions(allow: boolean): FastifyCorsOptions {
  return {
    // true reflects the request's Origin (never `*`), false sends no CORS headers at all.
    origin: allow,
    methods: ['POST'],
    allowedHeaders: ['Content-Type', 'Content-Encoding', 'Authorization'],
    exposedHeaders: ['Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'],
    credentials: false,
    // Browsers may cache the preflight for a day; SDKs send many small requests.
    maxAge: 86_400,
  };
}
