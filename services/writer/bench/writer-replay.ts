/**
 * The writer's CPU on an e2e bench run's own records, at a fixed rate: every topic the writer reads
 * (touchpoints, sessions, stage transitions, funnel events, churn scores, ...) is copied from the
 * run's topics (its prefix, left on the broker with BENCH_KAFKA_PORT=shared) into fresh ones by a
 * child process, each topic's records spread evenly over SECONDS (so all topics keep in step; a
 * record may be a bundle of many rows, as the sessionizer writes them), partitions kept. Not a test: a measurement for
 * docs/performance.md, repeatable where the e2e's own writer figure moves with the machine's load.
 *
 *   KAFKA_BROKERS=127.0.0.1:19720 WRITER_FLUSH_INTERVAL_MS=200 \
 *     npx tsx services/writer/bench/writer-replay.ts measure <source prefix> <seconds>
 *
 * The clock runs from the writer's start until its group has committed every record and no merge
 * runs (for a second); CPU is the
 * process's (process.cpuUsage(): chdb runs in it) and, by thread name from /proc/self/task, the
 * engine's query threads (libuv workers that run chdb's queries: inserts and the views they fire),
 * its merges (MergeMutate), the JavaScript thread and V8's helper threads (GC). Refreshable views
 * run as in production. The writer's settings come from the environment (WRITER_*).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { topicsWithPrefix, type Topics } from '../../../schemas/topics.js';
import { createClickHouse } from '../../platform/clickhouse/client.js';
import { migrate } from '../../platform/clickhouse/migrate.js';
import { parseEnv } from '../../platform/config/env.js';
import { ensureTopics } from '../../platform/kafka/admin.js';
import { createKafka } from '../../platform/kafka/client.js';
import { pipelineTopicSpecs } from '../../platform/kafka/pipeline-topics.js';
import { createKafkaProducer, type OutgoingRecord } from '../../platform/kafka/producer.js';
import { createLogger } from '../../platform/logging/logger.js';
import { WriterEnv } from '../config.js';
import { journeyRoutes } from '../routes.js';
import { benchWriterService } from './bench-writer-service.js';

const [mode = '', source = '', secondsArg = '100', target = ''] = process.argv.slice(2);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const logger = createLogger('writer-replay', process.env.LOG_LEVEL ?? 'warn');
const kafka = createKafka({ brokers, clientId: 'writer-replay', logger });
const partitions = Number(process.env.KAFKA_PARTITIONS ?? 4);

/** The writer's topics (journeyRoutes) of a prefix. */
const writerTopics = (topics: Topics) => journeyRoutes(topics, 'journey').map((r) => r.topic);

/** Every record of a topic up to its end now, in partition order. */
async function readAll(topic: string): Promise<OutgoingRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const want = ends.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  const out: OutgoingRecord[] = [];
  if (want === 0) return out;
  const consumer = kafka.consumer({ groupId: `replay-read-${Date.now()}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        out.push({ topic, partition, key: message.key?.toString('utf8') ?? null, value: message.value, headers });
        if (out.length >= want) resolve();
      },
    });
  });
  await consumer.disconnect();
  return out;
}

/** The child: copies the source prefix's writer topics into the target prefix's at the rate. */
async function feed() {
  const from = writerTopics(topicsWithPrefix(source));
  const to = writerTopics(topicsWithPrefix(target));
  const records = await Promise.all(from.map(readAll));
  const seconds = Number(secondsArg);
  const producer = createKafkaProducer(kafka, { name: 'replay-feed' });
  await producer.start();
  process.stderr.write(`[writer-replay] copying ${records.map((r, i) => `${r.length} records of ${from[i]}`).join(', ')} over ${seconds} s\n`);
  const sent = records.map(() => 0);
  const started = Date.now();
  for (;;) {
    const share = Math.min(1, (Date.now() - started) / 1000 / seconds);
    const batch: OutgoingRecord[] = [];
    records.forEach((rs, i) => {
      const due = Math.floor(rs.length * share);
      for (; sent[i]! < due; sent[i]!++) batch.push({ ...rs[sent[i]!]!, topic: to[i]! });
    });
    if (batch.length > 0) await producer.send(batch);
    if (share >= 1) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await producer.stop();
}

/** CPU seconds of this process's threads by name (libuv workers renamed by chdb count as its query threads). */
function threadCpu(): Record<string, number> {
  const tick = 100; // USER_HZ on Linux
  const out: Record<string, number> = {};
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const group =
      tid === String(process.pid) ? 'javascript' : comm === 'node' ? 'v8 helpers (gc)' : ['Unknown', 'RuntimeData', 'libuv-worker'].includes(comm) ? 'engine queries' : comm === 'MergeMutate' ? 'engine merges' : 'engine other';
    out[group] = (out[group] ?? 0) + (Number(f[11]) + Number(f[12])) / tick;
  }
  return out;
}

async function measure() {
  const prefix = `wrep${Date.now().toString(36)}.`;
  const topics = topicsWithPrefix(prefix);
  await ensureTopics(kafka, pipelineTopicSpecs(topics, partitions));
  const dataDir = mkdtempSync(join(tmpdir(), 'writer-replay-'));
  const ch = createClickHouse({ database: 'journey', dataDir });
  const config = parseEnv(WriterEnv, { ...process.env, KAFKA_BROKERS: brokers.join(',') });
  await migrate(ch.client, { database: 'journey', touchpointTtlDays: 3650 });
  const registry = new Registry();
  const groupId = `${prefix}writer`;
  const writer = benchWriterService({ kafka, clickhouse: ch, topics, groupId, config, registry, logger });
  const threads0 = threadCpu();
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  await writer.start();
  const feeder = spawn(process.execPath, ['--import', 'tsx', process.argv[1]!, 'feed', source, secondsArg, prefix], { stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: '' } });
  const fed = new Promise<number | null>((resolve) => feeder.on('exit', resolve));
  const admin = kafka.admin();
  await admin.connect();
  /** Records on the copy's topics not yet committed by the writer. */
  const lag = async () => {
    let n = 0;
    for (const t of writerTopics(topics)) {
      const ends = await admin.fetchTopicOffsets(t);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [t] });
      for (const e of ends) {
        const c = committed?.partitions.find((p) => p.partition === e.partition);
        n += Number(e.high) - Math.max(Number(e.low), Number(c?.offset ?? -1));
      }
    }
    return n;
  };
  const code = await fed;
  if (code !== 0) throw new Error(`feeder exited ${code}`);
  while ((await lag()) > 0) await new Promise((r) => setTimeout(r, 250));
  // The merges of what was written, too: how many are still running at the end varies from run to run.
  for (let idle = 0; idle < 4; ) {
    await new Promise((r) => setTimeout(r, 250));
    const [m] = await (await ch.client.query({ query: 'SELECT count() AS n FROM system.merges', format: 'JSONEachRow' })).json<{ n: string }>();
    idle = Number(m!.n) === 0 ? idle + 1 : 0;
  }
  const cpu = process.cpuUsage(cpu0);
  const threads1 = threadCpu();
  const wallMs = Date.now() - t0;
  const metrics = await registry.getMetricsAsJSON();
  const byTable = (name: string, suffix: string) =>
    Object.fromEntries(
      ((metrics.find((m) => m.name === name)?.values ?? []) as Array<{ metricName?: string; labels: { table?: string }; value: number }>)
        .filter((v) => (v.metricName ?? name).endsWith(suffix))
        .map((v) => [String(v.labels.table).replace('journey.', ''), v.value]),
    );
  const inserts = byTable('writer_insert_duration_seconds', '_count');
  const rows = byTable('writer_rows_inserted_total', '');
  const touchpointRows = rows.touchpoints ?? 0;
  await admin.disconnect();
  await writer.stop();
  await ch.close();
  rmSync(dataDir, { recursive: true, force: true });
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const perTouchpoint = (ms: number) => Math.round((ms * 1000) / touchpointRows);
  console.log(
    JSON.stringify({
      source,
      copiedOverSeconds: Number(secondsArg),
      flushIntervalMs: config.WRITER_FLUSH_INTERVAL_MS,
      derivedFlushIntervalMs: config.WRITER_DERIVED_FLUSH_INTERVAL_MS,
      wallMs,
      cpuMs: Math.round(cpuMs),
      cpuMicrosPerTouchpoint: perTouchpoint(cpuMs),
      cpuMicrosPerTouchpointByThread: Object.fromEntries(Object.keys(threads1).map((k) => [k, perTouchpoint(((threads1[k] ?? 0) - (threads0[k] ?? 0)) * 1000)])),
      rows,
      inserts,
    }),
  );
}

if (mode === 'feed') await feed();
else if (mode === 'measure' && source) await measure();
else {
  process.stderr.write('usage: writer-replay.ts measure <source prefix> <seconds>\n');
  process.exit(2);
}
process.exit(0);
