import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { topicsWithPrefix } from '../../schemas/topics.js';
import { createClickHouse } from '../../services/platform/clickhouse/client.js';
import { migrate } from '../../services/platform/clickhouse/migrate.js';
import { ensureTopics } from '../../services/platform/kafka/admin.js';
import { createKafka } from '../../services/platform/kafka/client.js';
import { pipelineTopicSpecs } from '../../services/platform/kafka/pipeline-topics.js';
import { createLogger } from '../../services/platform/logging/logger.js';
import { journeyRoutes } from '../../services/writer/routes.js';
import { createWriterService } from '../../services/writer/service.js';
import { groupLag } from '../faults/quiescence.js';
import { waitHealthy } from '../faults/services.js';
import { startServiceProcess, waitForOutput, type ServiceProcess } from '../support/processes.js';
import { cpuSeconds, peakRssMb, percentile } from './proc-stats.js';

export interface E2eOptions {
  brokers: string;
  /** Seconds of the flat-out phase. */
  maxSeconds: number;
  /** Seconds of the fixed-rate phase (freshness). */
  rateSeconds: number;
  rate: number;
  log: (line: string) => void;
}

/**
 * The whole pipeline on this machine: collector, sessionizer and stages as processes, the writer
 * (which owns the embedded ClickHouse) in this process next to a poller that sees rows arrive; the
 * simulator sends over HTTP from its own process. Phase 1 sends as fast as the collector takes it;
 * phase 2 sends at a fixed rate and measures event-to-queryable time.
 */
export async function runE2eBench(o: E2eOptions): Promise<Record<string, unknown>> {
  const prefix = `b${Date.now().toString(36)}.`;
  const topics = topicsWithPrefix(prefix);
  const dataDir = mkdtempSync(join(tmpdir(), 'journey-bench-'));
  const logger = createLogger('bench', 'warn');
  const kafka = createKafka({ brokers: o.brokers.split(','), clientId: 'bench', logger });
  await ensureTopics(kafka, pipelineTopicSpecs(topics, 4));
  const env = { KAFKA_BROKERS: o.brokers, KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: '4', LOG_LEVEL: 'warn', SESSIONIZER_GROUP_ID: `${prefix}sess`, STAGES_GROUP_ID: `${prefix}stages`, COLLECTOR_HTTP_PORT: '18080', SESSIONIZER_HTTP_PORT: '0', STAGES_HTTP_PORT: '0' };
  const procs: Record<string, ServiceProcess> = {};
  for (const [name, entry] of [
    ['collector', 'services/collector/main.ts'],
    ['sessionizer', 'services/sessionizer/main.ts'],
    ['stages', 'services/stages/main.ts'],
  ] as const) {
    procs[name] = startServiceProcess(entry, env);
    await waitForOutput(procs[name]!, name === 'collector' ? 'collector:' : 'health at', 120_000);
  }
  // The collector answers before its producer is connected (503 until then): wait for healthy.
  await waitHealthy(['http://127.0.0.1:18080/healthz'], 60_000);
  const ch = createClickHouse({ database: 'journey', dataDir });
  await migrate(ch.client, { database: 'journey', touchpointTtlDays: 3650 });
  const writer = createWriterService({
    kafka,
    clickhouse: ch,
    topics,
    routes: journeyRoutes(topics, 'journey'),
    groupId: `${prefix}writer`,
    maxBufferRows: 20_000,
    maxRowsPerInsert: 100_000,
    flushIntervalMs: 200,
    registry: new Registry(),
    logger,
  });
  await writer.start();

  const touchpointRows = async () => Number((await (await ch.client.query({ query: 'SELECT count() AS c FROM journey.touchpoints', format: 'JSONEachRow' })).json<{ c: number }>())[0]!.c);
  const accepted = async () => {
    const text = await (await fetch('http://127.0.0.1:18080/metrics')).text();
    return [...text.matchAll(/^collector_events_accepted_total\{[^}]*\} (\d+)/gm)].reduce((s, m) => s + Number(m[1]), 0);
  };
  const lag = async () =>
    (await groupLag(kafka, `${prefix}sess-router`, [topics.touchpoints])) +
    (await groupLag(kafka, `${prefix}sess-sessions`, [topics.identifiedTouchpoints])) +
    (await groupLag(kafka, `${prefix}stages`, [topics.customerTouchpoints])) +
    (await groupLag(kafka, `${prefix}writer`, [topics.customerTouchpoints, topics.sessions, topics.stageTransitions, topics.funnelEvents, topics.churnScores]));
  const pids = { ...Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, p.child.pid!])), 'writer+clickhouse (bench process)': process.pid };
  const cpuBefore = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));

  const simulator = (mode: 'max' | 'realtime', rate: number, seconds: number) =>
    startServiceProcess('services/simulator/main.ts', {
      COLLECTOR_URL: 'http://127.0.0.1:18080',
      SIMULATOR_MODE: mode,
      SIMULATOR_RATE: String(rate),
      SIMULATOR_CONFIG_FILE: 'tests/bench/simulator-fast.yaml',
      SIMULATOR_CONCURRENCY: '16',
      SIMULATOR_BATCH_SIZE: '100',
      SIMULATOR_SEED: String(seconds),
      LOG_LEVEL: 'warn',
    });

  // Phase 1: flat out.
  o.log(`phase 1: flat out for ${o.maxSeconds} s`);
  const a0 = await accepted();
  const r0 = await touchpointRows();
  const t0 = Date.now();
  const sim1 = simulator('max', 50_000, o.maxSeconds);
  await new Promise((r) => setTimeout(r, o.maxSeconds * 1000));
  const simCpu1 = cpuSeconds(sim1.child.pid!);
  sim1.child.kill('SIGTERM');
  await sim1.exited;
  const secs1 = (Date.now() - t0) / 1000;
  const a1 = await accepted();
  const r1 = await touchpointRows();
  const lagAfterMax = await lag();
  // Drain, to measure how long the backlog takes to reach ClickHouse.
  const drainStart = Date.now();
  while ((await lag()) > 0 && Date.now() - drainStart < 300_000) await new Promise((r) => setTimeout(r, 1000));
  const drainSeconds = (Date.now() - drainStart) / 1000;
  const r1d = await touchpointRows();

  // Phase 2: fixed rate; every poll, rows that became visible are timed against their receivedAt.
  o.log(`phase 2: ${o.rate} events/s for ${o.rateSeconds} s`);
  const latencies: number[] = [];
  let since = (await (await ch.client.query({ query: 'SELECT toUnixTimestamp64Milli(max(received_at)) AS m FROM journey.touchpoints', format: 'JSONEachRow' })).json<{ m: number }>())[0]!.m;
  const sim2 = simulator('realtime', o.rate, o.rateSeconds);
  const a2 = await accepted();
  const r2 = await touchpointRows();
  const t2 = Date.now();
  let maxLag2 = 0;
  let polls = 0;
  while (Date.now() - t2 < o.rateSeconds * 1000) {
    const rs = await ch.client.query({
      query: 'SELECT toUnixTimestamp64Milli(received_at) AS r FROM journey.touchpoints WHERE received_at > fromUnixTimestamp64Milli({since:Int64}) ORDER BY r',
      query_params: { since: Number(since) },
      format: 'JSONEachRow',
    });
    const now = Date.now();
    const rows = await rs.json<{ r: number }>();
    for (const row of rows) latencies.push(now - Number(row.r));
    if (rows.length > 0) since = Number(rows[rows.length - 1]!.r);
    if (++polls % 20 === 0) maxLag2 = Math.max(maxLag2, await lag());
    await new Promise((r) => setTimeout(r, 100));
  }
  sim2.child.kill('SIGTERM');
  await sim2.exited;
  const secs2 = (Date.now() - t2) / 1000;
  const a3 = await accepted();
  const r3 = await touchpointRows();
  latencies.sort((x, y) => x - y);

  const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, Math.round(((cpuSeconds(pid) - cpuBefore[k]!) / (secs1 + drainSeconds + secs2)) * 100) / 100]));
  const memory = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, peakRssMb(pid)]));
  await writer.stop();
  for (const p of Object.values(procs)) {
    p.child.kill('SIGTERM');
    await p.exited;
  }
  await ch.close();
  return {
    flatOut: {
      seconds: Math.round(secs1),
      collectorAcceptedPerSecond: Math.round((a1 - a0) / secs1),
      clickhouseTouchpointsPerSecondDuring: Math.round((r1 - r0) / secs1),
      endToEndPerSecondIncludingDrain: Math.round((r1d - r0) / (secs1 + drainSeconds)),
      lagWhenLoadStopped: lagAfterMax,
      drainSeconds: Math.round(drainSeconds),
      simulatorCpuCores: Math.round((simCpu1 / secs1) * 100) / 100,
    },
    fixedRate: {
      targetPerSecond: o.rate,
      seconds: Math.round(secs2),
      collectorAcceptedPerSecond: Math.round((a3 - a2) / secs2),
      clickhouseTouchpointsPerSecond: Math.round((r3 - r2) / secs2),
      freshnessMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), samples: latencies.length, pollEveryMs: 100 },
      maxLag: maxLag2,
    },
    cpuCoresAverage: cpu,
    peakRssMb: memory,
  };
}
