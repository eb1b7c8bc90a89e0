import { Registry } from 'prom-client';
import type { Kafka } from 'kafkajs';
import { createKafka } from '../../services/platform/kafka/client.js';
import { ensureTopics } from '../../services/platform/kafka/admin.js';
import { createLogger, type Logger } from '../../services/platform/logging/logger.js';
import type { Topics } from '../../schemas/topics.js';
import { pipelineTopicSpecs } from '../../services/platform/kafka/pipeline-topics.js';
import { testBrokers } from './kafka.js';

export function testLogger(name: string): Logger {
  return createLogger(name, process.env.TEST_LOG_LEVEL ?? 'silent');
}

export function testKafka(name: string): Kafka {
  return createKafka({ brokers: testBrokers(), clientId: name, logger: testLogger(name) });
}

/** Creates every pipeline topic (uniquely prefixed per test), changelogs compacted. */
export async function createTestTopics(kafka: Kafka, topics: Topics, partitions = 2): Promise<void> {
  await ensureTopics(kafka, pipelineTopicSpecs(topics, partitions));
}

export const freshRegistry = () => new Registry();

/** Polls until `check` returns a value that `done` accepts, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await check();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last).slice(0, 600)}`);
    await new Promise((r) => setTimeout(r, everyMs));
    last = await check();
  }
  return last;
}
