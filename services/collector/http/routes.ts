import type { FastifyRequest } from 'fastify';
import type { CallType } from '../../../schemas/touchpoint.js';
import { collectEvents, type CollectResult, type EventRejection } from '../../platform/segment/collect.js';
import { isJsonObject } from '../../platform/segment/json-object.js';
import { measureBatchEvents, measureSingleEvent, type EventMeasures } from '../../platform/segment/json-size.js';
import { batchCountProblem } from '../../platform/segment/limits.js';
import { batchEnvelopeOf } from '../../platform/segment/segment.js';
import type { SourceConfig } from '../../platform/segment/source-config.js';
import { SinkUnavailableError, type TouchpointSink } from '../../platform/segment/sink.js';
import { CollectorHttpError, REJECT_REASON_OF } from './errors.js';
import { countRejected, type CollectorMetrics } from './metrics.js';
import { stateOf, takeBody } from './request-state.js';

/** Segment's endpoints, with the one-letter paths analytics.js (analytics-next) posts to. */
export const SINGLE_CALL_PATHS: Record<CallType, string[]> = {
  track: ['/v1/track', '/v1/t'],
  identify: ['/v1/identify', '/v1/i'],
  page: ['/v1/page', '/v1/p'],
  screen: ['/v1/screen', '/v1/s'],
  group: ['/v1/group', '/v1/g'],
  alias: ['/v1/alias', '/v1/a'],
};
/** `/v1/b` is analytics.js's batching endpoint; `/v1/import` is Segment's legacy alias of batch. */
export const BATCH_PATHS = ['/v1/batch', '/v1/b', '/v1/import'];

export interface BatchResponse {
  success: true;
  accepted: number;
  rejected: number;
  errors?: Array<{ index: number; reason: string }>;
}

export interface RouteDeps {
  sink: TouchpointSink;
  metrics: CollectorMetrics;
  newMessageId: () => string;
}

export function collectorHandlers(deps: RouteDeps) {
  async function batch(request: FastifyRequest): Promise<BatchResponse> {
    const source = authenticated(request);
    const envelope = batchEnvelopeOf(request.body);
    if (envelope === null) throw new CollectorHttpError(400, 'invalid_body', 'body must be a JSON object with a "batch" array of events');
    const countProblem = batchCountProblem(envelope.batch.length);
    if (countProblem !== null) throw new CollectorHttpError(400, 'too_many_events', countProblem);

    const result = collectEvents({
      events: envelope.batch,
      source,
      receivedAt: stateOf(request).receivedAt,
      newMessageId: deps.newMessageId,
      batchContext: envelope.context,
      batchSentAt: envelope.sentAt,
      measures: measured(request, measureBatchEvents, envelope.batch.length),
    });
    await deliver(request, source, result);
    return summary(result);
  }

  /** Single-event endpoints refuse an invalid event with 400, after dead-lettering it like a batch would. */
  function single(callType: CallType) {
    return async function singleCall(request: FastifyRequest): Promise<BatchResponse> {
      const source = authenticated(request);
      if (!isJsonObject(request.body)) throw new CollectorHttpError(400, 'invalid_body', 'body must be one event as a JSON object');

      const result = collectEvents({
        events: [request.body],
        callType,
        source,
        receivedAt: stateOf(request).receivedAt,
        newMessageId: deps.newMessageId,
        measures: measured(request, measureSingleEvent, 1),
      });
      await deliver(request, source, result);
      const rejection = result.rejections[0];
      if (rejection !== undefined) {
        throw new CollectorHttpError(400, rejection.code === 'too_large' ? 'event_too_large' : 'invalid_event', rejection.reason);
      }
      return summary(result);
    };
  }

  /** 200 is only ever sent after this resolves: SDKs discard events on 200. */
  async function deliver(request: FastifyRequest, source: SourceConfig, result: CollectResult): Promise<void> {
    const { touchpoints, deadLetters, rejections } = result;
    const state = stateOf(request);
    state.inFlight = touchpoints.length + deadLetters.length;
    if (state.inFlight === 0) return;

    const stopTimer = deps.metrics.sinkDuration.startTimer();
    try {
      await deps.sink.send({ touchpoints, deadLetters });
      stopTimer({ outcome: 'ok' });
    } catch (error) {
      stopTimer({ outcome: error instanceof SinkUnavailableError ? 'unavailable' : 'error' });
      throw error;
    }

    state.inFlight = 0;
    state.accepted = touchpoints.length;
    state.rejected = rejections.length;
    if (touchpoints.length > 0) deps.metrics.accepted.inc({ source: source.sourceId }, touchpoints.length);
    for (const rejection of rejections) countRejected(deps.metrics, source.sourceId, REJECT_REASON_OF[codeOf(rejection)]);
    if (rejections.length > 0) {
      // Reasons name fields and rules, never values, so they are safe to log; payloads are not logged.
      request.log.info({ source: source.sourceId, rejected: rejections.length, reasons: distinctReasons(rejections) }, 'events dead-lettered');
    }
  }

  return { batch, single };
}

/** Sizes and nesting of the request's events from its body bytes; null when they cannot be had that way. */
function measured(request: FastifyRequest, measure: (body: Buffer) => EventMeasures | null, events: number): EventMeasures | null {
  const body = takeBody(request);
  const measures = body === null ? null : measure(body);
  return measures !== null && measures.bytes.length === events ? measures : null;
}

function authenticated(request: FastifyRequest): SourceConfig {
  const source = stateOf(request).source;
  // The auth hook runs before every collector route; reaching here without a source is a wiring bug.
  if (source === null) throw new Error('collector route reached without an authenticated source');
  return source;
}

function summary(result: CollectResult): BatchResponse {
  const response: BatchResponse = { success: true, accepted: result.touchpoints.length, rejected: result.rejections.length };
  if (result.rejections.length > 0) response.errors = result.rejections.map(({ index, reason }) => ({ index, reason }));
  return response;
}

function codeOf(rejection: EventRejection) {
  return rejection.code === 'too_large' ? 'event_too_large' : 'invalid_event';
}

const MAX_LOGGED_REASONS = 5;

function distinctReasons(rejections: readonly EventRejection[]): string[] {
  return [...new Set(rejections.map((r) => r.reason))].slice(0, MAX_LOGGED_REASONS);
}
