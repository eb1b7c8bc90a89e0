import { describe, expect, it } from 'vitest';
import { topicCodecs, topicsWithPrefix } from '../../../schemas/topics.js';
import { createLingeringProducer } from './lingering-producer.js';
import type { OutgoingRecord, RecordProducer } from './producer.js';
import { makeTouchpoint as touchpoint } from '../../../schemas/test-touchpoint.js';
import { createKafkaTouchpointSink } from './touchpoint-sink.js';
import { SinkUnavailableError } from '../segment/sink.js';

/** A producer whose sends wait until released: what a slow broker looks like to the sink. */
function heldProducer() {
  const waiting: Array<() => void> = [];
  return {
    producer: { send: () => new Promise<void>((resolve) => waiting.push(resolve)) },
    releaseAll: () => waiting.splice(0).forEach((resolve) => resolve()),
  };
}

const sinkWith = (limits: { maxInFlightEvents: number; maxInFlightBytes: number }, producer: RecordProducer) =>
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

describe('Kafka touchpoint sink over the lingering producer', () => {
  /** Wrapped sends held until the test answers them; the linger passes when the test says so. */
  function batchedSink(limits = { maxInFlightEvents: 1_000, maxInFlightBytes: 1e9 }) {
    const calls: Array<{ records: OutgoingRecord[]; ack: () => void; fail: (e: Error) => void }> = [];
    let fireLinger = () => {};
    const producer = createLingeringProducer(
      { send: (records) => new Promise<void>((ack, fail) => calls.push({ records, ack, fail })) },
      { lingerMs: 5, startTimer: (fire) => ((fireLinger = fire), () => {}) },
    );
    return { sink: sinkWith(limits, producer), calls, linger: () => fireLinger() };
  }
  const request = (...ids: string[]) => ({ touchpoints: ids.map((messageId) => touchpoint({ messageId })), deadLetters: [] });

  it('sends concurrent requests as one produce; each counts as in flight until it is acknowledged', async () => {
    const { sink, calls, linger } = batchedSink();
    const first = sink.send(request('a', 'b'));
    const second = sink.send(request('c'));
    linger();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.records).toHaveLength(3);
    expect(sink.inFlight()).toBe(3);
    calls[0]!.ack();
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    expect(sink.inFlight()).toBe(0);
    expect(sink.inFlightBytes()).toBe(0);
  });

  it('answers every request of a failed produce as unavailable (503), and releases their events', async () => {
    const { sink, calls, linger } = batchedSink();
    const first = sink.send(request('a'));
    const second = sink.send(request('b'));
    linger();
    calls[0]!.fail(new Error('broker unreachable'));
    for (const sent of [first, second]) await expect(sent).rejects.toBeInstanceOf(SinkUnavailableError);
    expect(sink.inFlight()).toBe(0);
  });

  it('sheds by events waiting for a batch as well as by events in the produce in flight', async () => {
    const { sink, calls, linger } = batchedSink({ maxInFlightEvents: 3, maxInFlightBytes: 1e9 });
    const inFlight = sink.send(request('a', 'b'));
    linger();
    const waiting = sink.send(request('c')); // waits for the next batch: counted all the same
    await expect(sink.send(request('d'))).rejects.toThrow(/too many events/);
    calls[0]!.ack();
    await inFlight;
    linger();
    calls[1]!.ack();
    await waiting;
    expect(sink.inFlight()).toBe(0);
  });
});
