// Reads, after a fixed-rate phase of the e2e bench (so it takes no CPU from the pipeline while it
// is measured), what the phase appended to the topics that carry touchpoints (`touchpoints`,
// `identified-touchpoints`, `customer-touchpoints`: every topic whose codec is a touchpoint or a
// journey record), and prints the sampled events (CRC32(messageId) % BENCH_SAMPLE_EVERY = 0, the
// rule the bench applies to ClickHouse rows) with the record's timestamp (the broker's append time:
// the bench sets these topics to LogAppendTime) and the touchpoint's receivedAt (the collector's
// acceptance). Every record in the ranges is decoded, so the same events are followed across topics.
//
//   S <topic key> <partition> <offset> <record ts> <messageId> <receivedAt>
//   STATS <json>                                   when every partition is read to its end offset
//
// Config (env): BENCH_BROKERS, BENCH_TOPICS (json {topic key: topic name}), BENCH_SAMPLE_EVERY,
// BENCH_GROUP_ID, BENCH_FROM and BENCH_TO (json {topic name: {partition: offset}}, end exclusive).
import '../../services/platform/kafka/kafkajs-patches.js';
import { Kafka, logLevel } from 'kafkajs';
import { topicCodecs, type TopicKey } from '../../schemas/topics.js';
import { membersOf } from '../../services/platform/kafka/record-bundle.js';
import { isSampled } from './freshness.js';

type Offsets = Record<string, Record<string, number>>;
const brokers = (process.env.BENCH_BROKERS ?? '127.0.0.1:19092').split(',');
const topics = JSON.parse(process.env.BENCH_TOPICS ?? '{}') as Partial<Record<TopicKey, string>>;
const sampleEvery = Math.max(1, Number(process.env.BENCH_SAMPLE_EVERY ?? 50));
const groupId = process.env.BENCH_GROUP_ID ?? `bench-hop-reader-${Date.now()}`;
const from = JSON.parse(process.env.BENCH_FROM ?? '{}') as Offsets;
const to = JSON.parse(process.env.BENCH_TO ?? '{}') as Offsets;

const keyOf = new Map(Object.entries(topics).map(([key, name]) => [name!, key as TopicKey]));
const codecs = new Map(Object.keys(topics).map((key) => [key, (topicCodecs as Record<string, () => { decode(b: Buffer): unknown }>)[key]!()]));
const stats = { records: {} as Record<string, number>, sampled: {} as Record<string, number>, notTouchpoint: {} as Record<string, number>, decodeErrors: {} as Record<string, number>, seconds: 0 };
const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
const write = (line: string) => process.stdout.write(`${line}\n`);
const started = Date.now();

/** The touchpoint inside a decoded value: a Touchpoint itself, or nested (JourneyRecord → CustomerTouchpoint → Touchpoint). */
function touchpointIn(value: unknown, depth = 0): { messageId: string; receivedAt: number } | undefined {
  if (value === null || typeof value !== 'object' || depth > 3) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.messageId === 'string' && typeof v.receivedAt === 'number') return { messageId: v.messageId, receivedAt: v.receivedAt };
  if ('kind' in v && v.kind !== 'touchpoint') return undefined;
  return touchpointIn(v.touchpoint, depth + 1);
}

/** Partitions still to read, as `topic/partition`. */
const remaining = new Set<string>();
for (const [topic, partitions] of Object.entries(to)) for (const [p, end] of Object.entries(partitions)) if ((from[topic]?.[p] ?? 0) < end) remaining.add(`${topic}/${p}`);

const finish = () => {
  stats.seconds = Math.round((Date.now() - started) / 100) / 10;
  write(`STATS\t${JSON.stringify(stats)}`);
};
if (remaining.size === 0) {
  finish();
  process.exit(0);
}

const kafka = new Kafka({ clientId: 'bench-hop-reader', brokers, logLevel: logLevel.NOTHING, retry: { retries: 20 } });
const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, maxBytes: 50 * 2 ** 20, maxBytesPerPartition: 10 * 2 ** 20, sessionTimeout: 30_000 });
await consumer.connect();
await consumer.subscribe({ topics: [...keyOf.keys()], fromBeginning: true });
let done: () => void = () => {};
const allRead = new Promise<void>((resolve) => (done = resolve));
await consumer.run({
  autoCommit: false,
  eachBatch: async ({ batch }) => {
    const key = keyOf.get(batch.topic)!;
    const codec = codecs.get(key)!;
    const end = to[batch.topic]?.[String(batch.partition)] ?? 0;
    for (const m of batch.messages.flatMap(membersOf)) {
      if (Number(m.offset) >= end) break;
      bump(stats.records, key);
      if (!m.value) continue;
      let tp;
      try {
        tp = touchpointIn(codec.decode(m.value));
      } catch {
        bump(stats.decodeErrors, key);
        continue;
      }
      if (!tp) {
        bump(stats.notTouchpoint, key);
        continue;
      }
      if (!isSampled(tp.messageId, sampleEvery)) continue;
      bump(stats.sampled, key);
      write(`S\t${key}\t${batch.partition}\t${m.offset}\t${m.timestamp}\t${tp.messageId}\t${tp.receivedAt}`);
    }
    if (Number(batch.lastOffset()) + 1 >= end && remaining.delete(`${batch.topic}/${batch.partition}`)) {
      consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
      if (remaining.size === 0) done();
    }
  },
});
for (const [topic, partitions] of Object.entries(from)) for (const [p, offset] of Object.entries(partitions)) consumer.seek({ topic, partition: Number(p), offset: String(offset) });
// Partitions with nothing to read are never fetched to their end: pause them now.
for (const [topic, partitions] of Object.entries(to)) {
  const idle = Object.entries(partitions).filter(([p, end]) => (from[topic]?.[p] ?? 0) >= end).map(([p]) => Number(p));
  if (idle.length > 0) consumer.pause([{ topic, partitions: idle }]);
}
await allRead;
finish();
await consumer.disconnect().catch(() => {});
process.exit(0);
