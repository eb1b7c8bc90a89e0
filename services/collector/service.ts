import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { topicCodecs, type Topics } from '../../schemas/topics.js';
import { registerOpsRoutes } from '../platform/http/ops-routes.js';
import { createKafkaProducer } from '../platform/kafka/producer.js';
import type { Logger } from '../platform/logging/logger.js';
import { composeComponents, type Component, type Health } from '../platform/runtime/component.js';
import type { SourceConfig } from './core/source-config.js';
import { buildCollectorApp } from './http/app.js';
import { createKafkaTouchpointSink } from './kafka-sink.js';

export interface CollectorServiceDeps {
  kafka: Kafka;
  topics: Topics;
  sources: SourceConfig[];
  host: string;
  port: number;
  sendTimeoutMs: number;
  maxInFlightEvents: number;
  registry: Registry;
  logger: Logger;
  /** Health of everything else in the process, for /healthz when services share one process. */
  extraHealth?: () => Health;
  now?: () => number;
}

/** Producer first, HTTP last: the listener closes first on stop, then the producer flushes. */
export function createCollectorService(deps: CollectorServiceDeps): Component & { address(): string; app(): FastifyInstance } {
  const logger = deps.logger.child({ service: 'collector' });
  const producer = createKafkaProducer(deps.kafka, { name: 'collector' });
  const sink = createKafkaTouchpointSink({
    producer,
    topics: deps.topics,
    touchpointCodec: topicCodecs.touchpoints(),
    deadLetterCodec: topicCodecs.deadLetter(),
    sendTimeoutMs: deps.sendTimeoutMs,
    maxInFlightEvents: deps.maxInFlightEvents,
  });
  const app = buildCollectorApp({ sink, sources: deps.sources, logger, metrics: deps.registry, now: deps.now ?? Date.now, newMessageId: randomUUID });
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
  const parts = composeComponents('collector', [producer, http]);
  registerOpsRoutes(app, {
    registry: deps.registry,
    health: () => {
      const own = parts.health();
      const extra = deps.extraHealth?.();
      return { ok: own.ok && (extra?.ok ?? true), details: { collector: own, ...(extra ? { pipeline: extra } : {}), inFlightEvents: sink.inFlight() } };
    },
  });
  return { ...parts, address: () => address, app: () => app };
}
