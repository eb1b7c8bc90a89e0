import type { Codec } from '../../../schemas/codec.js';
import type { DeadLetter } from '../../../schemas/journey.js';
import { identityKey, type Touchpoint } from '../../../schemas/touchpoint.js';
import type { Topics } from '../../../schemas/topics.js';
import type { RecordProducer } from './producer.js';
import { SinkUnavailableError, type TouchpointSink } from '../segment/sink.js';

export interface KafkaSinkOptions {
  producer: RecordProducer;
  topics: Topics;
  /** Where touchpoints go: `topics.touchpoints` unless given (the import's history lane: docs/history-lane.md). */
  touchpointsTopic?: string;
  touchpointCodec: Codec<Touchpoint>;
  deadLetterCodec: Codec<DeadLetter>;
  /** A send not acknowledged within this time answers 503 (the SDK retries; messageIds dedupe). */
  sendTimeoutMs: number;
  /** Load shedding: more events than this waiting for the broker answers 503 at once. */
  maxInFlightEvents: number;
  /**
   * Load shedding by size: the encoded bytes waiting for the broker. Events run from 100 bytes to
   * Segment's 32 KB, so a count alone would not bound memory.
   */
  maxInFlightBytes: number;
}

/**
 * Touchpoints to the `touchpoints` topic keyed by `identityKey` (anonymousId ?? userId), so one
 * device's events stay in order on one partition (the router stitches devices into customers); refused events to the dead-letter topic. Resolves
 * only when the broker has all of them (acks=all).
 */
export function createKafkaTouchpointSink(options: KafkaSinkOptions): TouchpointSink & { inFlight(): number; inFlightBytes(): number } {
  let inFlight = 0;
  let inFlightBytes = 0;
  const touchpointsTopic = options.touchpointsTopic ?? options.topics.touchpoints;
  return {
    inFlight: () => inFlight,
    inFlightBytes: () => inFlightBytes,
    async send(batch) {
      const count = batch.touchpoints.length + batch.deadLetters.length;
      if (inFlight + count > options.maxInFlightEvents) {
        throw new SinkUnavailableError('collector is shedding load: too many events waiting for Kafka', { retryAfterSeconds: 1 });
      }
      const records = [
        ...batch.touchpoints.map((tp) => ({ topic: touchpointsTopic, key: identityKey(tp), value: options.touchpointCodec.encode(tp) })),
        ...batch.deadLetters.map((d) => ({ topic: options.topics.deadLetter, key: d.key, value: options.deadLetterCodec.encode(d) })),
      ];
      const bytes = records.reduce((n, r) => n + r.value.length + (r.key?.length ?? 0), 0);
      if (inFlightBytes + bytes > options.maxInFlightBytes) {
        throw new SinkUnavailableError('collector is shedding load: too many bytes waiting for Kafka', { retryAfterSeconds: 1 });
      }
      inFlight += count;
      inFlightBytes += bytes;
      const release = () => {
        inFlight -= count;
        inFlightBytes -= bytes;
      };
      let send: Promise<unknown>;
      try {
        send = options.producer.send(records);
      } catch (error) {
        release();
        throw error;
      }
      // Events stay in flight until Kafka has them or gave up on them, even after a timeout answered
      // 503: the producer keeps retrying an abandoned send, holding its records. Released earlier,
      // a broker outage would pile up abandoned sends without bound while the count read zero.
      void send.finally(release).catch(() => undefined);

      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new SinkUnavailableError('Kafka did not acknowledge in time', { retryAfterSeconds: 5 })), options.sendTimeoutMs);
        });
        await Promise.race([send, timeout]).catch((error: unknown) => {
          void send.catch(() => undefined); // a late failure of an abandoned send is not unhandled
          if (error instanceof SinkUnavailableError) throw error;
          throw new SinkUnavailableError('Kafka is unavailable', { cause: error, retryAfterSeconds: 5 });
        });
      } finally {
        if (timer) clearTimeout(timer);
      }
    },
  };
}
