import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Kafka } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import { topicCodecs, type Topics } from '../../schemas/topics.js';
import { registerOpsRoutes } from '../platform/http/ops-routes.js';
import { createLingeringProducer } from '../platform/kafka/lingering-producer.js';
import { createKafkaProducer } from '../platform/kafka/producer.js';
import type { Logger } from '../platform/logging/logger.js';
import { startInBackground } from '../platform/runtime/background-start.js';
import { composeComponents, type Component, type Health } from '../platform/runtime/component.js';
import { DEFAULT_LINGER_MS } from './config.js';
import type { SourceConfig } from '../platform/segment/source-config.js';
import { buildCollectorApp } from './http/app.js';
import { createKafkaTouchpointSink } from '../platform/kafka/touchpoint-sink.js';
import { ForgottenIds } from '../platform/privacy/forgotten-ids.js';
import { createForgottenIdsReader } from '../platform/privacy/forgotten-ids-reader.js';
import { suppressingSink } from './suppression.js';

export interface CollectorServiceDeps {
  kafka: Kafka;
  topics: Topics;
  sources: SourceConfig[];
  host: string;
  port: number;
  sendTimeoutMs: number;
  maxInFlightEvents: number;
  maxInFlightBytes: number;
  /**
   * How long a request's events wait for other requests' events to share one produce request
   * (COLLECTOR_LINGER_MS). Default DEFAULT_LINGER_MS.
   */
  lingerMs?: number;
  registry: Registry;
  logger: Logger;
  /** Health of everything else in the process, for /healthz when services share one process. */
  extraHealth?: () => Health;
  now?: () => number;
  /** Forgotten ids kept for suppression (FORGOTTEN_IDS_MAX). */
  maxForgottenIds?: number;
}

/** Between attempts to reach Kafka when the collector starts before it. */
const KAFKA_START_RETRY_MS = 2_000;

/**
 * Producer first, HTTP last: the listener closes first on stop, then the producer flushes. The
 * producer connects in the background, so the collector starts (and answers 503 + Retry-After)
 * while Kafka is still away, instead of exiting.
 */
export function createCollectorService(deps: CollectorServiceDeps): Component & { address(): string; app(): FastifyInstance; kafkaReady(): Promise<void> } {
  const logger = deps.logger.child({ service: 'collector' });
  const producer = createKafkaProducer(deps.kafka, { name: 'collector' });
  // Concurrent requests share produce requests; each is still answered once its own events are acknowledged.
  const batched = createLingeringProducer(producer, { lingerMs: deps.lingerMs ?? DEFAULT_LINGER_MS });
  const sink = createKafkaTouchpointSink({
    producer: batched,
    topics: deps.topics,
    touchpointCodec: topicCodecs.touchpoints(),
    deadLetterCodec: topicCodecs.deadLetter(),
    sendTimeoutMs: deps.sendTimeoutMs,
    maxInFlightEvents: deps.maxInFlightEvents,
    maxInFlightBytes: deps.maxInFlightBytes,
  });
  // Suppressed ids (README: Privacy), followed from the forgotten-ids topic once Kafka is reachable.
  const forgotten = new ForgottenIds(deps.maxForgottenIds);
  const suppressed = new Counter({ name: 'collector_suppressed_events_total', help: 'Events dropped because a deletion suppressed their ids (not stored)', registers: [deps.registry] });
  const suppressions = createForgottenIdsReader({ kafka: deps.kafka, topic: deps.topics.forgottenIds, into: forgotten, logger });
  const app = buildCollectorApp({ sink: suppressingSink(sink, forgotten, (n) => suppressed.inc(n)), sources: deps.sources, logger, metrics: deps.registry, now: deps.now ?? Date.now, newMessageId: randomUUID });
  let address = '';
  const http: Component = {
    name: 'collector-http',
    async start() {
      address = await app.listen({ host: deps.host, port: deps.port });
    },
    async stop() {
      await app.close(); // stops accepting, lets in-flight requests finish
    },
    health: () => ({ ok: address !== '' }),
  };
  const kafkaSide = startInBackground(composeComponents('collector-kafka', [producer, suppressions]), { logger, retryMs: KAFKA_START_RETRY_MS });
  const parts = composeComponents('collector', [kafkaSide, http]);
  registerOpsRoutes(app, {
    registry: deps.registry,
    health: () => {
      const own = parts.health();
      const extra = deps.extraHealth?.();
      return { ok: own.ok && (extra?.ok ?? true), details: { collector: own, ...(extra ? { pipeline: extra } : {}), inFlightEvents: sink.inFlight(), inFlightBytes: sink.inFlightBytes(), produceBatching: batched.batching() } };
    },
  });
  return { ...parts, address: () => address, app: () => app, kafkaReady: () => kafkaSide.started() };
}
