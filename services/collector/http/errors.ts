/**
 * Every refusal the collector answers with: `{ error: { code, message } }`. Codes are stable API
 * (clients may switch on them); messages are for humans and never echo request content.
 */
export type ErrorCode =
  | 'invalid_event'
  | 'event_too_large'
  | 'request_too_large'
  | 'too_many_events'
  | 'bad_json'
  | 'bad_encoding'
  | 'invalid_body'
  | 'unauthorized'
  | 'origin_denied'
  | 'rate_limited'
  | 'unavailable'
  | 'not_found'
  | 'bad_request'
  | 'internal';

/** The fixed label set of collector_events_rejected_total{reason}: small on purpose. */
export const REJECT_REASONS = [
  'invalid_event',
  'too_large',
  'bad_json',
  'unauthorized',
  'origin_denied',
  'rate_limited',
  'unavailable',
  'internal',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export const REJECT_REASON_OF: Record<ErrorCode, RejectReason> = {
  invalid_event: 'invalid_event',
  event_too_large: 'too_large',
  request_too_large: 'too_large',
  too_many_events: 'too_large',
  bad_json: 'bad_json',
  bad_encoding: 'bad_json',
  invalid_body: 'bad_json',
  unauthorized: 'unauthorized',
  origin_denied: 'origin_denied',
  rate_limited: 'rate_limited',
  unavailable: 'unavailable',
  not_found: 'bad_json',
  bad_request: 'bad_json',
  internal: 'internal',
};

export class CollectorHttpError extends Error {
  /** Only capacity problems are worth a client retry; a bad request stays bad. */
  readonly retriable: boolean;

  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CollectorHttpError';
    this.retriable = statusCode === 429 || statusCode === 503;
  }
}

export function errorBody(code: ErrorCode, message: string): { error: { code: ErrorCode; message: string } } {
  return { error: { code, message } };
}
