import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { bearerToken, findApiKey, scopeAllows, type ApiKey, type Scope } from './api-keys.js';
import { errorBody } from './responses.js';

const unauthorized = (reply: FastifyReply, message: string) =>
  reply
    .code(401)
    .header('www-authenticate', 'Bearer realm="query-api"')
    .send(errorBody('unauthorized', message));

/**
 * The route hook that lets a request through only with a key holding `scope`: 401 without a valid
 * key, 403 with a valid key of too narrow a scope. `keys` undefined: the API is open (loopback only,
 * see config.ts). The key itself is never logged; the name of the key that was used is, at debug.
 */
export function requireScope(keys: readonly ApiKey[] | undefined, scope: Scope): onRequestHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (keys === undefined) return;
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) return unauthorized(reply, 'an API key is required: send it as Authorization: Bearer <key>');
    const key = findApiKey(keys, token);
    if (key === undefined) return unauthorized(reply, 'the API key is not valid');
    request.log.debug({ keyName: key.name, scope: key.scope }, 'api key');
    if (!scopeAllows(key.scope, scope)) {
      return reply.code(403).send(errorBody('forbidden', `this endpoint needs a key with scope ${scope}; key ${key.name} has scope ${key.scope}`));
    }
  };
}

/** A request URL fit for logs: the dashboard's one-time `?key=` is replaced, wherever it sits. */
export function loggableUrl(url: string): string {
  return url.replace(/([?&]key=)[^&#]*/gi, '$1[redacted]');
}
