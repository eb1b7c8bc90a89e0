import { z } from 'zod';
import { STAGES } from '../../schemas/journey.js';

/** ISO-8601 date or date-time; a date-time without a zone is read as UTC (never the host's zone). */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const EPOCH_MS = /^\d{1,15}$/;
/** 2000-01-01 .. 2100-01-01: anything outside is a typo or seconds sent as milliseconds. */
const MIN_MS = Date.UTC(2000, 0, 1);
const MAX_MS = Date.UTC(2100, 0, 1);

/** True when the calendar fields exist (Date.parse would roll 02-30 over into March). */
function realCalendarFields(text: string): boolean {
  const [y, mo, d, h = 0, mi = 0, s = 0] = (text.match(/\d+/g) ?? []).slice(0, 6).map(Number);
  const day = new Date(Date.UTC(y!, mo! - 1, d!));
  return day.getUTCMonth() === mo! - 1 && day.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
}

export function parseInstant(text: string): number | undefined {
  let ms: number;
  if (EPOCH_MS.test(text)) ms = Number(text);
  else {
    const m = ISO_8601.exec(text);
    if (!m || !realCalendarFields(text)) return undefined;
    const hasTime = text.length > 10;
    ms = Date.parse(hasTime && !m[1] ? `${text.replace(' ', 'T')}Z` : text.replace(' ', 'T'));
  }
  return Number.isFinite(ms) && ms >= MIN_MS && ms < MAX_MS ? ms : undefined;
}

export const instant = z
  .string()
  .transform((text, ctx) => {
    const ms = parseInstant(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected an ISO-8601 date-time (2026-11-22T17:00:00Z) or epoch milliseconds' });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ description: 'ISO-8601 date-time (UTC if no zone) or epoch milliseconds', examples: ['2026-11-22T17:00:00Z', '1795366800000'] });

/** A dimension value: plain text, bound as a query parameter (never spliced into SQL). */
const dimension = (description: string) => z.string().min(1).max(200).optional().meta({ description });

export const stage = z.enum(STAGES, { error: () => `expected one of ${STAGES.join(', ')}` });

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { error: 'expected a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min, { error: `expected at least ${min}` }).max(max, { error: `expected at most ${max}` }));

const fraction = z
  .string()
  .regex(/^(?:0(?:\.\d+)?|1(?:\.0+)?|\.\d+)$/, { error: 'expected a number between 0 and 1' })
  .transform(Number);

export const timeRange = { from: instant.optional(), to: instant.optional() };
export const site = dimension('Site (as sent by the SDK source)');
export const dimensions = {
  site,
  channel: dimension('Channel of the event, e.g. web, email, ads'),
  campaign: dimension('UTM campaign; empty = any'),
  device: dimension('Device type: desktop, mobile, tablet, server, other'),
  segment: dimension('Customer segment'),
};

export const FunnelQuery = z.strictObject({ ...timeRange, ...dimensions });
export const DropoffQuery = z.strictObject({ ...timeRange, ...dimensions, stage: stage.optional() });
export const TimeToConvertQuery = z.strictObject({ ...timeRange, ...dimensions, fromStage: stage.optional() });
export const CurrentStagesQuery = z.strictObject({ site });
export const StageFlowQuery = z.strictObject({ ...timeRange, site });
export const CohortsQuery = z.strictObject({ weeks: integer(1, 52).optional().meta({ description: 'How many weekly cohorts (default 8)' }), site });
export const ChurnQuery = z.strictObject({
  limit: integer(1, 500).optional().meta({ description: 'Rows to return (default 20)' }),
  minScore: fraction.optional().meta({ description: 'Lowest churn score listed, 0..1 (default 0.5)' }),
  site,
});
export const AlertsQuery = z.strictObject({
  ...timeRange,
  status: z.enum(['firing', 'resolved'], { error: () => 'expected firing or resolved' }).optional(),
  site,
});
/**
 * A customer id as the API returns it (`u:<userId>`, `a:<anonymousId>`, `e:<emailHash>`, or any id a
 * table holds): any printable text, bound as a parameter. Control characters are refused so an id
 * never forges a log line.
 */
export const customerId = z
  .string()
  .min(1, { error: 'expected a customer id' })
  .max(256, { error: 'expected at most 256 characters' })
  .regex(/^[^\p{Cc}]+$/u, { error: 'expected printable text' })
  .meta({ description: 'Any linked id: the customer id (u:<userId>, e:<emailHash>, a:<anonymousId>) or a merged one', examples: ['u:alice'] });

export const CustomerPath = z.strictObject({ id: customerId });
export const CustomerProfileQuery = z.strictObject({});
export const MAX_TIMELINE_PAGE = 500;
export const CustomerTimelineQuery = z.strictObject({
  limit: integer(1, MAX_TIMELINE_PAGE).optional().meta({ description: 'Touchpoints per page (default 50)' }),
  cursor: z.string().max(1_000, { error: 'expected at most 1000 characters' }).optional().meta({ description: "The previous page's nextCursor" }),
});

export const ATTRIBUTION_MODELS = ['markov', 'first_touch', 'last_touch', 'linear', 'position_based', 'time_decay'] as const;
export const AttributionQuery = z.strictObject({
  ...timeRange,
  site,
  model: z
    .enum(ATTRIBUTION_MODELS, { error: () => `expected one of ${ATTRIBUTION_MODELS.join(', ')}` })
    .optional()
    .meta({ description: 'One model; every model side by side when absent' }),
  breakdown: z
    .enum(['channel', 'campaign'], { error: () => 'expected channel or campaign' })
    .optional()
    .meta({ description: 'Credit per channel (default) or per UTM campaign; markov is per channel only' }),
});
export const PathsQuery = z.strictObject({
  ...timeRange,
  site,
  limit: integer(1, 100).optional().meta({ description: 'Paths per list (default 20)' }),
});

export const BUCKETS = { minute: 60_000, hour: 3_600_000 } as const;
export const ConversionOverTimeQuery = z.strictObject({
  ...timeRange,
  ...dimensions,
  stage: stage.optional().meta({ description: 'The step out of this stage; all steps when absent' }),
  bucket: z
    .enum(['minute', 'hour'], { error: () => 'expected minute or hour' })
    .optional()
    .meta({ description: 'Series resolution; default minute up to 6 h, hour beyond' }),
});

export class BadRequestError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'BadRequestError';
  }
}

/** The thing a path names does not exist (404). */
export class NotFoundError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** Parses query parameters, turning the first problem into a message that names the field. */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  const result = schema.safeParse(query ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') throw new BadRequestError(`${issue.keys.join(', ')}: unknown parameter`);
  const field = issue.path.join('.') || 'query';
  const raw = typeof query === 'object' && query !== null ? (query as Record<string, unknown>)[String(issue.path[0])] : undefined;
  const message = Array.isArray(raw) ? 'expected a single value' : issue.message;
  throw new BadRequestError(`${field}: ${message}`);
}

export interface Window {
  fromMs: number;
  toMs: number;
}

export const DEFAULT_WINDOW_MS = 24 * 3_600_000;
export const MAX_WINDOW_MS = 400 * 24 * 3_600_000;

/** The requested window, defaulting to the last 24 h before `now`. */
export function resolveWindow(q: { from?: number | undefined; to?: number | undefined }, now: number): Window {
  const toMs = q.to ?? now;
  const fromMs = q.from ?? toMs - DEFAULT_WINDOW_MS;
  if (fromMs >= toMs) throw new BadRequestError('from: must be before to');
  if (toMs - fromMs > MAX_WINDOW_MS) throw new BadRequestError('from: the window is longer than 400 days');
  return { fromMs, toMs };
}
