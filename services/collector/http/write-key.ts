import { isJsonObject } from '../../platform/segment/json-object.js';

/**
 * Segment SDKs authenticate with the write key as the HTTP Basic *username* and an empty password
 * (`Authorization: Basic base64("<key>:")`). Null when the header is absent or not Basic.
 */
export function writeKeyFromAuthorization(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const username = colon === -1 ? decoded : decoded.slice(0, colon);
  return username === '' ? null : username;
}

/** Browser SDKs (analytics.js) cannot set headers without a CORS preflight, so they put the key in the body. */
export function writeKeyFromBody(body: unknown): string | null {
  if (!isJsonObject(body)) return null;
  return typeof body.writeKey === 'string' && body.writeKey !== '' ? body.writeKey : null;
}
