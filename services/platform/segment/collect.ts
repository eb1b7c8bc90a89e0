import type { DeadLetter } from '../../../schemas/journey.js';
import type { CallType, Touchpoint } from '../../../schemas/touchpoint.js';
import { correctClockSkew } from './clock-skew.js';
import { withoutEmails } from './email.js';
import { isJsonObject, mergeUnder, nestsDeeperThan, type JsonObject } from './json-object.js';
import type { EventMeasures } from './json-size.js';
import { eventBytes, MAX_DEAD_LETTER_KEY_BYTES, MAX_DEAD_LETTER_PAYLOAD_BYTES, MAX_NESTING_DEPTH, sizeProblem, truncateUtf8 } from './limits.js';
import { parseSegmentCall } from './segment.js';
import type { SourceInfo } from './source-config.js';
import { toTouchpoint } from './to-touchpoint.js';

export type RejectionCode = 'invalid_event' | 'too_large';

/** One event's fate; mirrors the pipeline's ok | dlq step results (the collector never drops). */
export type EventOutcome = { kind: 'ok'; touchpoint: Touchpoint } | { kind: 'dlq'; code: RejectionCode; reason: string };

export interface EventRejection {
  /** Position in the request's batch (0 for single-event endpoints). */
  index: number;
  code: RejectionCode;
  reason: string;
}

export interface CollectInput {
  events: readonly unknown[];
  source: SourceInfo;
  receivedAt: number;
  newMessageId: () => string;
  /** Batch-level context, merged under each event's own context. */
  batchContext?: unknown;
  /** Batch-level sentAt, for events that carry none (analytics-node and analytics.js batching send it once). */
  batchSentAt?: unknown;
  /** Single-event endpoints: the route, not the body, says which call it is. */
  callType?: CallType;
  /**
   * Serialized size and nesting of each of `events`, measured on the bytes received (json-size.ts).
   * Without them each event is measured by serializing it, which gives the same figures.
   */
  measures?: EventMeasures | null;
}

export interface CollectResult {
  touchpoints: Touchpoint[];
  deadLetters: DeadLetter[];
  rejections: EventRejection[];
}

export const DEAD_LETTER_STAGE = 'collector';
/** Dead letters from the collector did not come from a topic; this names the protocol and source instead. */
export const deadLetterOrigin = (sourceId: string): string => `segment-http:${sourceId}`;

/**
 * Every event of one request, each accepted or dead-lettered on its own: one bad event never
 * sinks its batch. Pure: the clock reading and the id generator are inputs.
 */
export function collectEvents(input: CollectInput): CollectResult {
  const result: CollectResult = { touchpoints: [], deadLetters: [], rejections: [] };
  const batchProblem = batchContextProblem(input.batchContext);

  input.events.forEach((raw, index) => {
    const outcome: EventOutcome = batchProblem ? dlq('invalid_event', batchProblem) : acceptEvent(raw, input, index);
    if (outcome.kind === 'ok') {
      result.touchpoints.push(outcome.touchpoint);
      return;
    }
    result.rejections.push({ index, code: outcome.code, reason: outcome.reason });
    result.deadLetters.push(toDeadLetter(raw, outcome.reason, input));
  });
  return result;
}

/** One event of `input.events` (at `index`, which picks its measures). */
export function acceptEvent(raw: unknown, input: CollectInput, index: number): EventOutcome {
  if (!isJsonObject(raw)) return dlq('invalid_event', 'event must be a JSON object');
  const measures = input.measures;
  const tooDeep = measures ? measures.levels[index]! > MAX_NESTING_DEPTH : nestsDeeperThan(raw, MAX_NESTING_DEPTH);
  if (tooDeep) return dlq('invalid_event', `event nests deeper than ${MAX_NESTING_DEPTH} levels`);
  // Measured on the event as sent, before the batch context is merged in.
  const tooLarge = sizeProblem(measures ? measures.bytes[index]! : eventBytes(raw));
  if (tooLarge !== null) return dlq('too_large', tooLarge);

  const parsed = parseSegmentCall(withBatchDefaults(raw, input));
  if (!parsed.ok) return dlq('invalid_event', parsed.reason);

  const times = correctClockSkew(parsed.call, input.receivedAt);
  if (!times.ok) return dlq('invalid_event', times.reason);

  const messageId = parsed.call.messageId ?? input.newMessageId();
  return { kind: 'ok', touchpoint: toTouchpoint({ call: parsed.call, messageId, times: times.times, source: input.source }) };
}

function withBatchDefaults(raw: JsonObject, input: CollectInput): JsonObject {
  const event: JsonObject = { ...raw };
  if (input.callType !== undefined) event.type = input.callType;
  if (event.sentAt === undefined && input.batchSentAt !== undefined) event.sentAt = input.batchSentAt;
  if (isJsonObject(input.batchContext)) {
    event.context = isJsonObject(raw.context) ? mergeUnder(input.batchContext, raw.context) : (raw.context ?? input.batchContext);
  }
  return event;
}

function batchContextProblem(context: unknown): string | null {
  if (context === undefined || context === null) return null;
  if (!isJsonObject(context)) return 'batch context must be a JSON object';
  if (nestsDeeperThan(context, MAX_NESTING_DEPTH)) return `batch context nests deeper than ${MAX_NESTING_DEPTH} levels`;
  return null;
}

function dlq(code: RejectionCode, reason: string): EventOutcome {
  return { kind: 'dlq', code, reason };
}

/**
 * The raw event as sent, minus email fields; keyed like touchpoints so a replay keeps per-person order.
 * Payload and key are cut to a bounded size (the reason says so) so one hostile event can never
 * make a record Kafka refuses, which would fail its whole request with a retriable 503.
 */
export function toDeadLetter(raw: unknown, reason: string, input: Pick<CollectInput, 'source' | 'receivedAt'>): DeadLetter {
  // Too-deep payloads cannot be serialized without overflowing the stack; the reason says why it is empty.
  const payload = nestsDeeperThan(raw, MAX_NESTING_DEPTH) ? '' : (JSON.stringify(withoutEmails(raw)) ?? '');
  const kept = truncateUtf8(payload, MAX_DEAD_LETTER_PAYLOAD_BYTES);
  const key = identityOf(raw);
  return {
    sourceTopic: deadLetterOrigin(input.source.sourceId),
    stage: DEAD_LETTER_STAGE,
    reason: kept === payload ? reason : `${reason}; payload truncated to its first ${Buffer.byteLength(kept, 'utf8')} of ${Buffer.byteLength(payload, 'utf8')} bytes`,
    at: input.receivedAt,
    key: key === null ? null : truncateUtf8(key, MAX_DEAD_LETTER_KEY_BYTES),
    payload: kept,
  };
}

function identityOf(raw: unknown): string | null {
  if (!isJsonObject(raw)) return null;
  for (const key of ['userId', 'anonymousId']) {
    const id = raw[key];
    if ((typeof id === 'string' && id !== '') || typeof id === 'number') return String(id);
  }
  return null;
}
