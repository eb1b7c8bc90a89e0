/**
 * CPU per row of the writer, embedded ClickHouse included (chdb runs in this process, so
 * process.cpuUsage() counts its threads too). Not a test: a measurement for docs/performance.md.
 *
 *   KAFKA_BROKERS=127.0.0.1:19092 npx tsx services/writer/bench/writer-cpu.ts backlog 100000
 *   KAFKA_BROKERS=127.0.0.1:19092 npx tsx services/writer/bench/writer-cpu.ts rate 2000 30
 *
 * backlog N:       N events (one customer-touchpoint and one session record each) are produced first;
 *                  then the writer starts and the clock runs until every row is queryable.
 * rate R SECONDS:  a child process produces R events/s for SECONDS while the writer runs; the clock
 *                  runs from the writer's start until every row is queryable.
 * idle SECONDS:    the writer's CPU per second with nothing to write.
 * The writer's settings come from the environment as in production (WRITER_* variables, defaults).
 * Add `node --cpu-prof` (NODE_OPTIONS) for a profile; the feeder child does not inherit it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { SESSION_UID_UNKNOWN, type JourneyRecord, type SessionRecord } from '../../../schemas/journey.js';
import { topicCodecs, topicsWithPrefix } from '../../../schemas/topics.js';
import { createClickHouse } from '../../platform/clickhouse/client.js';
import { migrate } from '../../platform/clickhouse/migrate.js';
import { parseEnv } from '../../platform/config/env.js';
import { ensureTopics } from '../../platform/kafka/admin.js';
import { createKafka } from '../../platform/kafka/client.js';
import { pipelineTopicSpecs } from '../../platform/kafka/pipeline-topics.js';
import { createKafkaProducer } from '../../platform/kafka/producer.js';
import { createLogger } from '../../platform/logging/logger.js';
import { WriterEnv } from '../config.js';
import { benchWriterService } from './bench-writer-service.js';
import { benchTouchpoint } from './bench-touchpoint.js';

const [mode = 'backlog', a = '100000', b = '30', prefixArg] = process.argv.slice(2);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const logger = createLogger('writer-cpu', process.env.LOG_LEVEL ?? 'warn');
const kafka = createKafka({ brokers, clientId: 'writer-cpu', logger });
const partitions = Number(process.env.KAFKA_PARTITIONS ?? 4);
const base = Date.now() - 86_400_000; // inside every table's TTL

function touchpointRecord(i: number): JourneyRecord {
  const customerId = `u:c${i % 5_000}`;
  return {
    kind: 'touchpoint',
    customerId,
    touchpoint: {
      customerId,
      accountId: null,
      sessionId: `s${Math.floor(i / 8)}`,
      late: false,
      touchpoint: benchTouchpoint(i, base, { productId: `p${i % 300}`, price: 49.9, currency: 'EUR', category: 'shoes' }),
    },
    mergeInto: null,
    mergedFrom: null,
    state: null,
    source: i % partitions,
    sourceWatermark: base + i * 10,
    inputOffset: i,
  };
}

function sessionRecord(i: number): SessionRecord {
  return {
    sessionId: `sess-${i}`,
    sessionUid: SESSION_UID_UNKNOWN,
    customerId: `u:c${i % 5_000}`,
    status: 'updated',
    version: 1,
    site: 'shop.example',
    startedAt: base + i * 10,
    endedAt: base + i * 10 + 60_000,
    eventCount: 1 + (i % 9),
    channels: ['web', 'email'],
    entryEvent: 'Page Viewed',
    exitEvent: 'Product Viewed',
    entryUrl: 'https://shop.example/',
    exitUrl: `https://shop.example/p/${i % 300}`,
    furthestStage: 'consideration',
    converted: false,
  };
}

/** Produces events [from, to) as customer-touchpoint + session records. */
async function produce(prefix: string, from: number, to: number, send: (records: Array<{ topic: string; key: string; value: Buffer }>) => Promise<unknown>) {
  const topics = topicsWithPrefix(prefix);
  const jr = topicCodecs.customerTouchpoints();
  const ss = topicCodecs.sessions();
  const records = [];
  for (let i = from; i < to; i++) {
    records.push({ topic: topics.customerTouchpoints, key: `u:c${i % 5_000}`, value: jr.encode(touchpointRecord(i)) });
    records.push({ topic: topics.sessions, key: `u:c${i % 5_000}`, value: ss.encode(sessionRecord(i)) });
  }
  await send(records);
}

async function feed(prefix: string, rate: number, seconds: number) {
  const producer = createKafkaProducer(kafka, { name: 'feeder' });
  await producer.start();
  const started = Date.now();
  let sent = 0;
  const total = rate * seconds;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate));
    if (due > sent) {
      await produce(prefix, sent, due, (r) => producer.send(r));
      sent = due;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await producer.stop();
}

async function measure() {
  const prefix = `wcpu${Date.now().toString(36)}.`;
  const topics = topicsWithPrefix(prefix);
  await ensureTopics(kafka, pipelineTopicSpecs(topics, partitions));
  const events = mode === 'rate' ? Number(a) * Number(b) : mode === 'idle' ? 0 : Number(a);
  if (mode === 'backlog') {
    process.stderr.write(`[writer-cpu] producing ${events} events\n`);
    const producer = createKafkaProducer(kafka, { name: 'preload' });
    await producer.start();
    for (let i = 0; i < events; i += 5_000) await produce(prefix, i, Math.min(events, i + 5_000), (r) => producer.send(r));
    await producer.stop();
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'writer-cpu-'));
  const ch = createClickHouse({ database: 'journey', dataDir });
  const config = parseEnv(WriterEnv, { ...process.env, KAFKA_BROKERS: brokers.join(',') });
  await migrate(ch.client, { database: 'journey', touchpointTtlDays: config.TOUCHPOINT_TTL_DAYS });
  const registry = new Registry();
  const writer = benchWriterService({ kafka, clickhouse: ch, topics, groupId: `${prefix}writer`, config, registry, logger });
  const count = async () => {
    const rs = await ch.client.query({ query: 'SELECT (SELECT count() FROM journey.touchpoints) + (SELECT count() FROM journey.sessions) AS c', format: 'JSONEachRow' });
    return Number((await rs.json<{ c: string }>())[0]!.c);
  };
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  await writer.start();
  const feeder =
    mode === 'rate'
      ? spawn(process.execPath, ['--import', 'tsx', process.argv[1]!, 'feed', a, b, prefix], { stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: '' } })
      : undefined;
  if (mode === 'idle') {
    // The writer's cost with nothing to write: consumer fetch loops, timers, the engine's own threads.
    await new Promise((r) => setTimeout(r, Number(a) * 1000));
    const cpu = process.cpuUsage(cpu0);
    await writer.stop();
    await ch.close();
    rmSync(dataDir, { recursive: true, force: true });
    console.log(JSON.stringify({ mode, seconds: Number(a), cpuMsPerSecond: Math.round((cpu.user + cpu.system) / 1000 / Number(a)) }));
    return;
  }
  let rows = 0;
  let lastReport = Date.now();
  while ((rows = await count()) < 2 * events) {
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      process.stderr.write(`[writer-cpu] ${rows} of ${2 * events} rows queryable after ${Math.round((Date.now() - t0) / 1000)} s\n`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const cpu = process.cpuUsage(cpu0);
  const wallMs = Date.now() - t0;
  const inserts = (await registry.getMetricsAsJSON()).find((m) => m.name === 'writer_insert_duration_seconds');
  const insertCount = (inserts?.values as Array<{ metricName?: string; value: number }> | undefined)
    ?.filter((v) => v.metricName?.endsWith('_count'))
    .reduce((s, v) => s + v.value, 0);
  await writer.stop();
  feeder?.kill();
  await ch.close();
  rmSync(dataDir, { recursive: true, force: true });
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(
    JSON.stringify({
      mode,
      events,
      rows,
      partitions,
      flushIntervalMs: config.WRITER_FLUSH_INTERVAL_MS,
      maxBufferRows: config.WRITER_MAX_BUFFER_ROWS,
      wallMs,
      cpuMs: Math.round(cpuMs),
      cpuMicrosPerRow: Math.round((cpuMs * 1000) / rows),
      inserts: insertCount,
      rowsPerInsert: insertCount ? Math.round(rows / insertCount) : null,
    }),
  );
}

if (mode === 'feed') await feed(prefixArg!, Number(a), Number(b));
else await measure();
process.exit(0);
