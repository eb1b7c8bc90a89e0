/** A Kafka operation failed; `retriable` tells whether the same call may succeed later. */
export class KafkaUnavailableError extends Error {
  readonly retriable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KafkaUnavailableError';
  }
}
