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
