import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { makeTouchpoint } from '../../schemas/test-touchpoint.js';
import { identityKey, type Touchpoint } from '../../schemas/touchpoint.js';
import { topicCodecs, type Topics } from '../../schemas/topics.js';
import { createKafkaProducer } from '../../services/platform/kafka/producer.js';
import { stageClassifierFromFile } from '../../services/sessionizer/stage-classifier.js';
import { createSessionizerService } from '../../services/sessionizer/service.js';
import type { SessionConfig } from '../../services/sessionizer/core/sessions.js';
import { journeyRoutes } from '../../services/writer/routes.js';
import { createWriterService } from '../../services/writer/service.js';
import type { ClickHouse } from '../../services/platform/clickhouse/client.js';
import type { GroupOnTopics } from './drain.js';
import { testBrokers, uniqueGroupId } from './kafka.js';
import { loadStagesOptions } from '../../services/sessionizer/stages-options.js';
import { SessionizerEnv } from '../../services/sessionizer/config.js';
import { parseEnv } from '../../services/platform/config/env.js';
import { createTestTopics, freshRegistry, testLogger } from './pipeline.js';
import { uniqueTopics } from './kafka.js';
import type { Cleanup } from './cleanup.js';

export const stageOf = stageClassifierFromFile('services/sessionizer/rules/ecommerce.yaml');

/** Produces touchpoints to the touchpoints topic exactly as the collector does (Avro, identity key). */
export async function produceTouchpoints(kafka: Kafka, topics: Topics, tps: Touchpoint[]): Promise<void> {
  const producer = createKafkaProducer(kafka, { name: 'fixture' });
  await producer.start();
  const codec = topicCodecs.touchpoints();
  await producer.send(tps.map((tp) => ({ topic: topics.touchpoints, key: identityKey(tp), value: codec.encode(tp) })));
  await producer.stop();
}

/**
 * Produces `count` sessionized touchpoints to customer-touchpoints as the sessionizer would, for
 * `customers` users (message ids `<idPrefix>-<i>`): the writer's input without running upstream.
 */
export async function produceCustomerTouchpoints(kafka: Kafka, topic: string, o: { count: number; customers: number; idPrefix: string }): Promise<void> {
  const producer = createKafkaProducer(kafka, { name: 'fixture-customer-touchpoints' });
  await producer.start();
  try {
    const codec = topicCodecs.customerTouchpoints();
    await producer.send(
      Array.from({ length: o.count }, (_, i) => {
        const customerId = `u:u${i % o.customers}`;
        const touchpoint = makeTouchpoint({ messageId: `${o.idPrefix}-${i}`, userId: `u${i % o.customers}` });
        return {
          topic,
          key: customerId,
          value: codec.encode({ kind: 'touchpoint', customerId, touchpoint: { customerId, accountId: null, sessionId: 's', late: false, touchpoint }, mergeInto: null, mergedFrom: null, state: null }),
        };
      }),
    );
  } finally {
    await producer.stop();
  }
}

export function tp(overrides: Partial<Touchpoint>): Touchpoint {
  return makeTouchpoint(overrides);
}

export function testSessionizer(
  kafka: Kafka,
  topics: Topics,
  groupId: string,
  options: { stateDir?: string; registry?: Registry; sessions?: Partial<SessionConfig>; maxEventLagMs?: number; historyMaxHeldEvents?: number } = {},
) {
  return createSessionizerService({
    kafka,
    topics,
    groupId,
    sessions: options.sessions ?? {},
    maxEventLagMs: options.maxEventLagMs ?? 5 * 60_000,
    linkOptions: { emailLinks: true },
    stageOf,
    stages: loadStagesOptions(parseEnv(SessionizerEnv, {})),
    tickLimit: 1_000,
    stateDir: options.stateDir,
    registry: options.registry ?? freshRegistry(),
    logger: testLogger('sessionizer'),
    historyMaxHeldEvents: options.historyMaxHeldEvents,
  });
}

/** The sessionizer's consumer groups (router first), for waitForDrained. */
export function sessionizerGroups(groupId: string, topics: Topics): GroupOnTopics[] {
  return [
    { groupId: `${groupId}-router`, topics: [topics.touchpoints, topics.touchpointsHistory] },
    { groupId: `${groupId}-sessions`, topics: [topics.identifiedTouchpoints] },
  ];
}

/** A writer for every journey table; `group` is its consumer group, for waitForDrained. */
export function testWriter(kafka: Kafka, topics: Topics, ch: ClickHouse) {
  const routes = journeyRoutes(topics, ch.database);
  const group: GroupOnTopics = { groupId: uniqueGroupId('writer'), topics: routes.map((r) => r.topic) };
  const writer = createWriterService({
    kafka,
    clickhouse: ch,
    topics,
    routes,
    groupId: group.groupId,
    maxBufferRows: 5_000,
    maxRowsPerInsert: 50_000,
    flushIntervalMs: 100,
    registry: freshRegistry(),
    logger: testLogger('writer'),
  });
  return Object.assign(writer, { group });
}

export interface SessionRowView {
  session_id: string;
  customer_id: string;
  event_count: number;
  status: string;
  /** Time of the session's last event (epoch ms). */
  ended_ms: number;
}

/** Sessions after deduplication (FINAL: the latest version of each session id). */
export async function finalSessions(client: ClickHouseClient, database: string): Promise<SessionRowView[]> {
  const rs = await client.query({
    query: `SELECT session_id, customer_id, toUInt32(event_count) AS event_count, toString(status) AS status,
                   toFloat64(toUnixTimestamp64Milli(ended_at)) AS ended_ms
            FROM ${database}.sessions FINAL WHERE status != 'merged' ORDER BY customer_id, session_id`,
    format: 'JSONEachRow',
  });
  return (await rs.json<SessionRowView>()).map((r) => ({ ...r, event_count: Number(r.event_count), ended_ms: Number(r.ended_ms) }));
}

/** Environment of a sessionizer process on the test broker (`extra` adds or overrides variables). */
export function sessionizerProcessEnv(o: { prefix: string; groupId: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    KAFKA_BROKERS: testBrokers().join(','),
    KAFKA_TOPIC_PREFIX: o.prefix,
    SESSIONIZER_GROUP_ID: o.groupId,
    SESSIONIZER_HTTP_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    ...extra,
  };
}

/**
 * Environment of a writer process whose only flush within a test is the one on shutdown (a
 * 1-minute flush interval), for the tests that check what a stop flushes and commits.
 */
export function writerFlushingOnStopEnv(o: { brokers: string[]; prefix: string; dataDir: string; groupId: string }): Record<string, string> {
  return {
    KAFKA_BROKERS: o.brokers.join(','),
    KAFKA_TOPIC_PREFIX: o.prefix,
    DATA_DIR: o.dataDir,
    WRITER_GROUP_ID: o.groupId,
    WRITER_FLUSH_INTERVAL_MS: '60000',
    WRITER_HTTP_PORT: '0',
  };
}

/**
 * The journey path of a test: fresh topics (2 partitions), a writer into `ch` and a sessionizer,
 * started and registered with `cleanup`; `groups` are what `waitForDrained` waits for.
 */
export async function startJourneyPipeline(kafka: Kafka, ch: ClickHouse, cleanup: Cleanup) {
  const topics = uniqueTopics();
  await createTestTopics(kafka, topics, 2);
  const sessionizerGroupId = uniqueGroupId('sess');
  const writer = cleanup.started(testWriter(kafka, topics, ch));
  const sessionizer = cleanup.started(testSessionizer(kafka, topics, sessionizerGroupId));
  for (const c of [writer, sessionizer]) await c.start();
  return { topics, writer, sessionizer, groups: [...sessionizerGroups(sessionizerGroupId, topics), writer.group] };
}
