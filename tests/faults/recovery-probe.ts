// Diagnostic: where the time goes between a kill -9 of a service and its processing again.
// Streams FAULT_EVENTS (100k) known touchpoints through sessionizer and writer processes on the
// broker at KAFKA_BROKERS, kill -9s PROBE_TARGET (sessionizer) in the middle, restarts it, and
// prints its log lines (LOG_LEVEL=info) with their time since the kill.
import '../../services/platform/kafka/kafkajs-patches.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { identityKey } from '../../schemas/touchpoint.js';
import { topicCodecs, topicsWithPrefix } from '../../schemas/topics.js';
import { loadSources } from '../../services/platform/segment/sources-file.js';
import { ensureTopics } from '../../services/platform/kafka/admin.js';
import { pipelineTopicSpecs } from '../../services/platform/kafka/pipeline-topics.js';
import { createKafkaProducer } from '../../services/platform/kafka/producer.js';
import { knownTouchpoints } from './input.js';
import { waitForProgress } from './quiescence.js';
import { pipelineProcesses, type ServiceName } from './services.js';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';
const events = Number(process.env.FAULT_EVENTS ?? 100_000);
const target = (process.env.PROBE_TARGET ?? 'sessionizer') as ServiceName;
const kafka = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING });
const prefix = `probe${Date.now().toString(36)}.`;
const topics = topicsWithPrefix(prefix);
await ensureTopics(kafka, pipelineTopicSpecs(topics, 4));
const env = {
  KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: '4', DATA_DIR: mkdtempSync(join(tmpdir(), 'journey-probe-')),
  SESSIONIZER_GROUP_ID: `${prefix}sessionizer`, WRITER_GROUP_ID: `${prefix}writer`, SESSION_MAX_EVENT_LAG_MINUTES: '1440',
  SESSIONIZER_HTTP_PORT: '0', WRITER_HTTP_PORT: '0', LOG_LEVEL: 'info', ...(process.env.PROBE_INSTANCE ? { KAFKA_GROUP_INSTANCE_ID: process.env.PROBE_INSTANCE } : {}),
};
const procs = pipelineProcesses(env);
for (const name of procs.names) await procs.start(name);
const groups = [
  { groupId: `${prefix}sessionizer-router`, topics: [topics.touchpoints] },
  { groupId: `${prefix}sessionizer-sessions`, topics: [topics.identifiedTouchpoints] },
  { groupId: `${prefix}writer`, topics: [topics.customerTouchpoints, topics.sessions, topics.stageTransitions, topics.funnelEvents, topics.churnScores] },
];
const producer = createKafkaProducer(kafka, { name: 'probe' });
await producer.start();
const codec = topicCodecs.touchpoints();
let sent = 0;
let killedAt = 0;
for (const chunk of knownTouchpoints({ seed: 7, count: events, startTime: Date.UTC(2026, 0, 1), sources: loadSources('services/collector/sources.local.yaml'), chunk: 2_000 })) {
  await producer.send(chunk.map((tp) => ({ topic: topics.touchpoints, key: identityKey(tp), value: codec.encode(tp) })));
  sent += chunk.length;
  if (killedAt === 0 && sent >= events / 2) {
    killedAt = Date.now();
    await procs.kill9(target);
    await procs.start(target);
    console.log(`running again after ${Date.now() - killedAt} ms`);
    await waitForProgress(kafka, groups, 300_000);
    console.log(`processing again after ${Date.now() - killedAt} ms`);
    for (const line of procs.get(target).output().split('\n')) {
      const time = /"time":(\d+)/.exec(line)?.[1];
      const msg = /"msg":"([^"]*)"/.exec(line)?.[1];
      if (time && msg) console.log(`${String(Number(time) - killedAt).padStart(7)} ms  ${msg}  ${line.replace(/"(level|time|pid|hostname|name|msg)":("[^"]*"|\d+),?/g, '').slice(0, 200)}`);
    }
  }
}
await producer.stop();
await procs.stopAll();
