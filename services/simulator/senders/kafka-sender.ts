import { randomUUID } from 'node:crypto';
import type { SourceConfig } from '../../platform/segment/source-config.js';
import { collectEvents } from '../../platform/segment/collect.js';
import type { TouchpointSink } from '../../platform/segment/sink.js';
import type { SimulatedCall } from '../core/segment-call.js';
import { batchesByWriteKey, type CallSender } from './call-sender.js';

/**
 * Straight to Kafka, skipping HTTP: the collector's own pure conversion (validation, skew
 * correction, channel, email hashing) and its Kafka sink, so what lands is what the collector would
 * have produced.
 */
export function createKafkaSender(options: { sink: TouchpointSink; sources: SourceConfig[]; now: () => number; batchSize: number }): CallSender {
  const byKey = new Map(options.sources.map((s) => [s.writeKey, s]));
  const counters = { sent: 0, requests: 0, retries: 0, rejected: 0 };
  return {
    async send(calls) {
      const batches = batchesByWriteKey(calls, options.batchSize);
      const touchpoints = [];
      const deadLetters = [];
      for (const b of batches) {
        const source = byKey.get(b.writeKey);
        if (!source) {
          counters.rejected += b.calls.length;
          continue;
        }
        const result = collectEvents({ events: b.calls.map((c) => c.call), source, receivedAt: options.now(), newMessageId: randomUUID, batchSentAt: new Date(options.now()).toISOString() });
        touchpoints.push(...result.touchpoints);
        deadLetters.push(...result.deadLetters);
        counters.rejected += result.deadLetters.length;
        counters.sent += result.touchpoints.length;
      }
      counters.requests++;
      await options.sink.send({ touchpoints, deadLetters });
    },
    stats: () => ({ ...counters }),
  };
}
