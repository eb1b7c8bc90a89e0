import { describe, expect, it } from 'vitest';
import { topicCodecs, topicsWithPrefix } from '../../schemas/topics.js';
import { touchpoint } from '../sessionizer/core/test-touchpoint.js';
import { createKafkaTouchpointSink } from './kafka-sink.js';
import { SinkUnavailableError } from './sink.js';

/** A producer whose sends wait until released: what a slow broker looks like to the sink. */
function heldProducer() {
  const waiting: Array<() => void> = [];
  return {
    producer: { send: () => new Promise<void>((resolve) => waiting.push(resolve)) },
    releaseAll: () => waiting.splice(0).forEach((resolve) => resolve()),
  };
}

const sinkWith = (limits: { maxInFlightEvents: number; maxInFlightBytes: number }, producer: { send(): Promise<void> }) =>
  createKafkaTouchpointSink({
    producer,
    topics: topicsWithPrefix('t.'),
    touchpointCodec: topicCodecs.touchpoints(),
    deadLetterCodec: topicCodecs.deadLetter(),
    sendTimeoutMs: 60_000,
    ...limits,
  });

const bigEvent = (i: number) => touchpoint({ messageId: `m-${i}`, properties: JSON.stringify({ blob: 'x'.repeat(30_000) }) });

describe('Kafka touchpoint sink: load shedding', () => {
  it('sheds by bytes waiting for the broker, not only by event count, and takes writes again once they drain', async () => {
    const held = heldProducer();
    const sink = sinkWith({ maxInFlightEvents: 1_000, maxInFlightBytes: 100_000 }, held.producer);
    const accepted = [0, 1, 2].map((i) => sink.send({ touchpoints: [bigEvent(i)], deadLetters: [] }));
    await new Promise((r) => setImmediate(r));
    expect(sink.inFlight()).toBe(3);
    expect(sink.inFlightBytes()).toBeGreaterThan(90_000);
    // Three events in flight, far under the event limit, but a fourth 30 KB would pass 100 KB.
    const refused = await sink.send({ touchpoints: [bigEvent(3)], deadLetters: [] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SinkUnavailableError);
    expect((refused as SinkUnavailableError).message).toMatch(/bytes/);
    held.releaseAll();
    await Promise.all(accepted);
    expect(sink.inFlightBytes()).toBe(0);
    const again = sink.send({ touchpoints: [bigEvent(4)], deadLetters: [] });
    await new Promise((r) => setImmediate(r));
    held.releaseAll();
    await expect(again).resolves.toBeUndefined();
  });

  it('sheds by event count as well', async () => {
    const held = heldProducer();
    const sink = sinkWith({ maxInFlightEvents: 2, maxInFlightBytes: 1e9 }, held.producer);
    void sink.send({ touchpoints: [touchpoint({ messageId: 'a' }), touchpoint({ messageId: 'b' })], deadLetters: [] });
    await expect(sink.send({ touchpoints: [touchpoint({ messageId: 'c' })], deadLetters: [] })).rejects.toThrow(/too many events/);
    held.releaseAll();
  });
});
