import { z } from 'zod';
import { CALL_TYPES } from '../../../schemas/touchpoint.js';
import { parseIsoTimestamp } from './iso-time.js';

/**
 * The Segment HTTP Tracking API call shapes (https://segment.com/docs/connections/spec/).
 * Objects are loose: unknown top-level fields survive parsing so the touchpoint can keep them.
 * Timestamps are turned into epoch milliseconds here; ids into non-empty strings or null.
 */

const jsonObject = z.record(z.string(), z.unknown(), { error: 'must be a JSON object' });
/** SDKs send `null` for absent optional objects (analytics.js sends `userId: null` for anonymous users). */
const optionalObject = jsonObject.nullish().transform((v) => v ?? undefined);

const isoTimestamp = z
  .string({ error: 'must be an ISO-8601 date-time string' })
  .transform((value, ctx) => {
    const ms = parseIsoTimestamp(value);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: 'must be an ISO-8601 date-time with a time zone (e.g. 2024-05-01T12:00:00.000Z)' });
      return z.NEVER;
    }
    return ms;
  });
const optionalTimestamp = isoTimestamp.nullish().transform((v) => v ?? null);

/** Ids may arrive as numbers from some SDKs; they are stored as strings. Empty string means absent. */
const optionalId = z
  .union([z.string(), z.number()], { error: 'must be a string' })
  .nullish()
  .transform((v) => (v === null || v === undefined || v === '' ? null : String(v)));
const requiredId = optionalId.refine((v): v is string => v !== null, { message: 'is required' }).transform((v) => v as string);
const optionalName = z.string({ error: 'must be a string' }).nullish().transform((v) => v ?? null);

const common = {
  messageId: optionalId,
  userId: optionalId,
  anonymousId: optionalId,
  context: optionalObject,
  integrations: optionalObject,
  timestamp: optionalTimestamp,
  originalTimestamp: optionalTimestamp,
  sentAt: optionalTimestamp,
};

const hasIdentity = (e: { userId: string | null; anonymousId: string | null }) => e.userId !== null || e.anonymousId !== null;
const identityRule = { message: 'userId or anonymousId is required' };

export const TrackCall = z
  .looseObject({
    ...common,
    type: z.literal('track'),
    event: z.string({ error: 'is required' }).min(1, { error: 'is required' }),
    properties: optionalObject,
  })
  .refine(hasIdentity, identityRule);

export const IdentifyCall = z
  .looseObject({ ...common, type: z.literal('identify'), traits: optionalObject })
  .refine(hasIdentity, identityRule);

export const PageCall = z
  .looseObject({ ...common, type: z.literal('page'), name: optionalName, category: optionalName, properties: optionalObject })
  .refine(hasIdentity, identityRule);

export const ScreenCall = z
  .looseObject({ ...common, type: z.literal('screen'), name: optionalName, category: optionalName, properties: optionalObject })
  .refine(hasIdentity, identityRule);

export const GroupCall = z
  .looseObject({ ...common, type: z.literal('group'), groupId: requiredId, traits: optionalObject })
  .refine(hasIdentity, identityRule);

/** alias merges `previousId` into `userId`: both are required, anonymousId is not. */
export const AliasCall = z.looseObject({
  ...common,
  type: z.literal('alias'),
  userId: requiredId,
  previousId: requiredId,
});

export const SegmentCall = z.discriminatedUnion('type', [TrackCall, IdentifyCall, PageCall, ScreenCall, GroupCall, AliasCall], {
  error: (issue) => (issue.code === 'invalid_union' ? `must be one of ${CALL_TYPES.join(', ')}` : undefined),
});
export type SegmentCall = z.infer<typeof SegmentCall>;

/** The batch envelope: `{ batch: [...], sentAt?, context?, writeKey? }`; events are validated one by one. */
export const BatchEnvelope = z.looseObject({
  batch: z.array(z.unknown(), { error: 'batch must be an array of events' }),
  context: z.unknown().optional(),
  sentAt: z.unknown().optional(),
  writeKey: z.unknown().optional(),
});
export type BatchEnvelope = z.infer<typeof BatchEnvelope>;

/** Top-level fields the collector interprets (or drops on purpose); every other field is kept verbatim. */
export const KNOWN_CALL_FIELDS: ReadonlySet<string> = new Set([
  'type', 'messageId', 'userId', 'anonymousId', 'previousId', 'groupId', 'event', 'name', 'properties', 'traits',
  'context', 'integrations', 'timestamp', 'originalTimestamp', 'sentAt', 'receivedAt',
  // writeKey is a credential; `channel`/`version` are Segment envelope metadata, not event data.
  'writeKey', 'channel', 'version',
]);

export type ParseOutcome = { ok: true; call: SegmentCall } | { ok: false; reason: string };

/** Validates one call. The reason names fields and rules, never values, so it is safe to log and store. */
export function parseSegmentCall(raw: unknown): ParseOutcome {
  const result = SegmentCall.safeParse(raw);
  if (result.success) return { ok: true, call: result.data };
  return { ok: false, reason: describeIssues(result.error) };
}

const MAX_REASONS = 5;

/** Our messages are predicates ("is required") that read after the field path; zod's own are sentences. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, MAX_REASONS)
    .map((issue) => {
      if (issue.path.length === 0) return issue.message;
      const separator = /^[a-z]/.test(issue.message) ? ' ' : ': ';
      return `${issue.path.join('.')}${separator}${issue.message}`;
    })
    .join('; ');
}
