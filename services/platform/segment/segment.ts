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
export interface BatchEnvelope {
  batch: unknown[];
  context?: unknown;
  sentAt?: unknown;
  writeKey?: unknown;
}

/** The envelope of a batch body, or null when the body is not an object with a `batch` array. */
export function batchEnvelopeOf(body: unknown): BatchEnvelope | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const envelope = body as Record<string, unknown>;
  return Array.isArray(envelope.batch) ? (envelope as unknown as BatchEnvelope) : null;
}

/** Top-level fields the collector interprets (or drops on purpose); every other field is kept verbatim. */
export const KNOWN_CALL_FIELDS: ReadonlySet<string> = new Set([
  'type', 'messageId', 'userId', 'anonymousId', 'previousId', 'groupId', 'event', 'name', 'properties', 'traits',
  'context', 'integrations', 'timestamp', 'originalTimestamp', 'sentAt', 'receivedAt',
  // writeKey is a credential; `channel`/`version` are Segment envelope metadata, not event data.
  'writeKey', 'channel', 'version',
]);

export type ParseOutcome = { ok: true; call: SegmentCall } | { ok: false; reason: string };

/**
 * Validates one call. The reason names fields and rules, never values, so it is safe to log and store.
 * A valid call takes the hand-written path (wellFormedCall); zod judges the rest and words the reason.
 */
export function parseSegmentCall(raw: unknown): ParseOutcome {
  const call = wellFormedCall(raw);
  if (call !== null) return { ok: true, call };
  const result = SegmentCall.safeParse(raw);
  if (result.success) return { ok: true, call: result.data };
  return { ok: false, reason: describeIssues(result.error) };
}

/** A value no field rule yields: the field is not in the shape wellFormedCall takes. */
const OFF = Symbol('not well-formed');

/** What JSON.parse makes of `{...}`; anything else (null-prototype objects too) is left to zod. */
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
const id = (v: unknown) => (v === undefined || v === null || v === '' ? null : typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : OFF);
const object = (v: unknown) => (v === undefined || v === null ? undefined : isPlainObject(v) ? v : OFF);
const timestamp = (v: unknown) => (v === undefined || v === null ? null : typeof v === 'string' ? (parseIsoTimestamp(v) ?? OFF) : OFF);
const name = (v: unknown) => (v === undefined || v === null ? null : typeof v === 'string' ? v : OFF);

/** Per call type, the fields its schema above declares besides the common ones, in the schema's order. */
const TYPE_FIELDS: Record<string, ReadonlyArray<readonly [string, (v: unknown) => unknown]>> = {
  track: [['event', (v) => (typeof v === 'string' && v !== '' ? v : OFF)], ['properties', object]],
  identify: [['traits', object]],
  page: [['name', name], ['category', name], ['properties', object]],
  screen: [['name', name], ['category', name], ['properties', object]],
  group: [['groupId', (v) => id(v) ?? OFF], ['traits', object]],
  alias: [['userId', (v) => id(v) ?? OFF], ['previousId', (v) => id(v) ?? OFF]],
};
const COMMON_FIELDS = ['messageId', 'userId', 'anonymousId', 'context', 'integrations', 'timestamp', 'originalTimestamp', 'sentAt', 'type'];
/** Per call type, every field its schema declares: the others are unknown fields, kept as they came. */
const DECLARED = Object.fromEntries(Object.entries(TYPE_FIELDS).map(([type, fields]) => [type, new Set([...COMMON_FIELDS, ...fields.map(([f]) => f)])]));

/**
 * The call SegmentCall.parse would return, for a call that passes every rule; null for anything
 * else (zod then decides and explains). zod takes ~10x longer per valid event; this does the same
 * field by field: the same transforms (ids to strings, timestamps to epoch ms, absent optional
 * fields to null), unknown fields kept in their order after the declared ones, objects passed on
 * as they are. segment.test.ts holds it equal to zod's result on generated calls.
 */
export function wellFormedCall(raw: unknown): SegmentCall | null {
  if (!isPlainObject(raw)) return null;
  const typeFields = typeof raw.type === 'string' && Object.hasOwn(TYPE_FIELDS, raw.type) ? TYPE_FIELDS[raw.type]! : null;
  if (typeFields === null) return null;
  const messageId = id(raw.messageId);
  const anonymousId = id(raw.anonymousId);
  const context = object(raw.context);
  const integrations = object(raw.integrations);
  const ts = timestamp(raw.timestamp);
  const originalTimestamp = timestamp(raw.originalTimestamp);
  const sentAt = timestamp(raw.sentAt);
  const userId = id(raw.userId);
  if (messageId === OFF || userId === OFF || anonymousId === OFF || context === OFF || integrations === OFF) return null;
  if (ts === OFF || originalTimestamp === OFF || sentAt === OFF) return null;

  const call: Record<string, unknown> = { messageId, userId, anonymousId };
  // zod leaves an absent optional object out, and keeps a key sent as null (as undefined).
  if (context !== undefined || 'context' in raw) call.context = context;
  if (integrations !== undefined || 'integrations' in raw) call.integrations = integrations;
  call.timestamp = ts;
  call.originalTimestamp = originalTimestamp;
  call.sentAt = sentAt;
  call.type = raw.type;
  for (const [field, rule] of typeFields) {
    const value = rule(raw[field]);
    if (value === OFF) return null;
    if (value !== undefined || field in raw) call[field] = value;
  }
  if (raw.type !== 'alias' && userId === null && anonymousId === null) return null; // userId or anonymousId is required
  const declared = DECLARED[raw.type as string]!;
  for (const key in raw) {
    if (key === '__proto__') return null;
    if (!declared.has(key)) call[key] = raw[key];
  }
  return call as SegmentCall;
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
