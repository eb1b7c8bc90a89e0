/** A Kafka operation failed; `retriable` tells whether the same call may succeed later. */
export class KafkaUnavailableError extends Error {
  readonly retriable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KafkaUnavailableError';
  }
}

/**
 * A record over the broker's record limit (MAX_RECORD_BYTES), refused before it is sent: the same
 * send can never succeed. Producers of such records must bound or dead-letter them first.
 */
export class RecordTooLargeError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'RecordTooLargeError';
  }
}

/**
 * The broker refused an append as larger than the topic takes (MESSAGE_TOO_LARGE: a batch over its
 * `max.message.bytes`; RECORD_LIST_TOO_LARGE: an append over its `segment.bytes`). Nothing of it was
 * written; the same records may go as smaller appends.
 */
export class AppendTooLargeError extends Error {
  readonly retriable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppendTooLargeError';
  }
}

const TOO_LARGE_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/**
 * Whether a kafkajs error is the broker refusing an append by size. kafkajs wraps the protocol error
 * (which carries `type`) in a non-retriable error's `cause`, or several in an aggregate's `errors`.
 */
export function isSizeRefusal(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 4) return false;
  const { type, cause, errors } = error as { type?: unknown; cause?: unknown; errors?: unknown };
  if (typeof type === 'string' && TOO_LARGE_TYPES.has(type)) return true;
  if (Array.isArray(errors) && errors.some((e) => isSizeRefusal(e, depth + 1))) return true;
  return isSizeRefusal(cause, depth + 1);
}
