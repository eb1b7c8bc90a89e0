import { z } from 'zod';

/**
 * One write key and what it stands for. `allowedOrigins` lists browser origins
 * (`https://shop.example.com`) allowed to send with this key; `'*'` allows any origin, an empty list
 * allows none (server-side keys). `hashEmails` opts the source into storing sha256(email).
 */
export const SourceConfig = z.object({
  writeKey: z.string().min(1),
  sourceId: z.string().min(1),
  site: z.string().min(1),
  allowedOrigins: z.array(z.string().min(1)).default([]),
  hashEmails: z.boolean().default(false),
  rateLimitPerSecond: z.number().int().positive(),
});
export type SourceConfig = z.infer<typeof SourceConfig>;

/** What the event pipeline needs to know about the source an event came from. */
export type SourceInfo = Pick<SourceConfig, 'sourceId' | 'site' | 'hashEmails'>;

/** Index by write key; two sources sharing a key would make auth ambiguous, so that is a config error. */
export function indexSourcesByWriteKey(sources: readonly SourceConfig[]): ReadonlyMap<string, SourceConfig> {
  const byKey = new Map<string, SourceConfig>();
  for (const source of sources) {
    if (byKey.has(source.writeKey)) throw new Error(`write key of source ${source.sourceId} is used by another source`);
    byKey.set(source.writeKey, source);
  }
  return byKey;
}

/** Whether a browser `Origin` may send with this source's key. Requests without an Origin are not browsers. */
export function originAllowed(source: Pick<SourceConfig, 'allowedOrigins'>, origin: string): boolean {
  return source.allowedOrigins.includes('*') || source.allowedOrigins.includes(origin);
}
