import type { Touchpoint } from '../../../schemas/touchpoint.js';
import type { DeadLetter } from '../../../schemas/journey.js';

/** What one HTTP request hands to the sink: the accepted touchpoints and the refused events, together. */
export interface SinkBatch {
  touchpoints: Touchpoint[];
  deadLetters: DeadLetter[];
}

/**
 * The port the collector writes through (the lead's Kafka adapter implements it).
 * Invariant: when `send` resolves, every touchpoint and dead letter is durable, because the
 * collector answers 200 only after that; SDKs drop their copy on 200.
 */
export interface TouchpointSink {
  send(batch: SinkBatch): Promise<void>;
}

/**
 * The sink cannot take writes right now (broker down, buffer full). Retriable: the collector answers
 * 503 with Retry-After so SDKs keep the events and retry later.
 */
export class SinkUnavailableError extends Error {
  readonly retriable = true;
  /** How long clients should wait before retrying; the Retry-After header. */
  readonly retryAfterSeconds: number;

  constructor(message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SinkUnavailableError';
    this.retryAfterSeconds = options?.retryAfterSeconds ?? 5;
  }
}
