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

/** Re-exported for existing imports; the implementation is in ./eventually.ts. */
export { eventually } from './eventually.js';
