import type { FastifyRequest } from 'fastify';
import { originAllowed, type SourceConfig } from '../../platform/segment/source-config.js';
import { CollectorHttpError } from './errors.js';
import { stateOf } from './request-state.js';
import { writeKeyFromAuthorization, writeKeyFromBody } from './write-key.js';

/**
 * Write-key auth in two hooks. A key in the Authorization header is checked on arrival, before the
 * body is read, so a bad key costs no decompression. A key in the body can only be checked after
 * parsing. Either way the browser Origin is then checked against that key's allow-list.
 */
export function authHooks(byKey: ReadonlyMap<string, SourceConfig>) {
  async function authenticateHeader(request: FastifyRequest): Promise<void> {
    const key = writeKeyFromAuthorization(request.headers.authorization);
    if (key === null) return;
    stateOf(request).source = lookup(byKey, key);
  }

  async function authenticateBody(request: FastifyRequest): Promise<void> {
    const state = stateOf(request);
    if (state.source === null) {
      const key = writeKeyFromBody(request.body);
      if (key === null) {
        throw new CollectorHttpError(401, 'unauthorized', 'missing write key: send it as the HTTP Basic username or as "writeKey" in the body');
      }
      state.source = lookup(byKey, key);
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !originAllowed(state.source, origin)) {
      throw new CollectorHttpError(403, 'origin_denied', 'this origin is not allowed for this write key');
    }
  }

  return { authenticateHeader, authenticateBody };
}

function lookup(byKey: ReadonlyMap<string, SourceConfig>, key: string): SourceConfig {
  const source = byKey.get(key);
  if (source === undefined) throw new CollectorHttpError(401, 'unauthorized', 'unknown write key');
  return source;
}
