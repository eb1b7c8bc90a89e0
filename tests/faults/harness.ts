import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { identityKey } from '../../schemas/touchpoint.js';
import { topicCodecs, topicsWithPrefix } from '../../schemas/topics.js';
import { loadSources } from '../../services/platform/segment/sources-file.js';
import { ensureTopics } from '../../services/platform/kafka/admin.js';
import { pipelineTopicSpecs } from '../../services/platform/kafka/pipeline-topics.js';
import { createKafkaProducer } from '../../services/platform/kafka/producer.js';
import { createPrng } from '../support/prng.js';
import { runScript } from '../support/processes.js';
import type { DedicatedBroker } from './broker.js';
import { knownTouchpoints } from './input.js';
import { waitForProgress, waitForQuiescence } from './quiescence.js';
import { pipelineProcesses, waitHealthy, type ServiceName } from './services.js';

export interface FaultPlan {
  /** kill -9 of a processing service (round-robin sessionizer, stages, writer), restarted at once. */
  kills: number;
  /** Hard broker restarts (SIGKILL, then start again). */
  brokerRestarts: number;
  /** ClickHouse unavailable: the writer (which owns the embedded engine) is down this long, this many times. */
  clickhouseOutages: number;
  clickhouseOutageMs: number;
}

export interface ScenarioOptions {
  kafka: Kafka;
  /** The broker the scenario runs on (and restarts). */
  broker: DedicatedBroker;
  events: number;
  seed: number;
  startTime: number;
  partitions: number;
  faults: FaultPlan | null;
  log: (line: string) => void;
  drainTimeoutMs: number;
}

export interface FaultRecord {
  kind: string;
  target: string;
  atEvent: number;
  /** From the fault until the target ran again (the broker answered, the process printed its banner). */
  restartMs: number;
  /** From the fault until every service reported healthy again. */
  healthyMs: number;
  /**
   * From the fault until every consumer group committed progress again (or had nothing left to
   * do): the pipeline is processing again, not merely up.
   */
  recoveryMs: number;
}

export interface ScenarioResult {
  inputEvents: number;
  inputDistinctIds: number;
  producedWithRetries: number;
  faults: FaultRecord[];
  touchpoints: { rows: number; distinctIds: number; finalRows: number };
  lostEvents: number;
  duplicateRowsBeforeMerge: number;
  duplicateRowsAfterDedup: number;
  sessions: { count: number; digest: string };
  funnel: Array<{ stage: string; kind: string; events: number; customers: number }>;
  sessionRows: string[];
  funnelRows: string[];
  elapsedMs: number;
}

/**
 * Streams a known set of events through sessionizer, stages and writer (separate processes) while
 * injecting faults at random moments, then compares what ClickHouse holds with what went in.
 */
export async function runScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const prefix = `f${started.toString(36)}${o.faults ? 'x' : 'c'}.`;
  const topics = topicsWithPrefix(prefix);
  const dataDir = mkdtempSync(join(tmpdir(), 'journey-faults-'));
  await ensureTopics(o.kafka, pipelineTopicSpecs(topics, o.partitions));
  const env = {
    KAFKA_BROKERS: o.broker.brokers,
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_PARTITIONS: String(o.partitions),
    DATA_DIR: dataDir,
    SESSIONIZER_GROUP_ID: `${prefix}sessionizer`,
    WRITER_GROUP_ID: `${prefix}writer`,
    // Static membership, as a deployment with stable instance names has it (README, Recovery): a
    // process restarted after a kill -9 takes its place in its groups back at once.
    KAFKA_GROUP_INSTANCE_ID: `${prefix}instance-1`,
    // Event time only: wall-clock punctuation would make two runs of the same input differ.
    SESSION_MAX_EVENT_LAG_MINUTES: '1440',
    SESSIONIZER_HTTP_PORT: '0',
    WRITER_HTTP_PORT: '0',
    LOG_LEVEL: process.env.FAULT_LOG_LEVEL ?? 'warn',
  };
  // The services' output stays beside the run's data (logs/), named in the run's log.
  const procs = pipelineProcesses(env, join(dataDir, 'logs'));
  o.log(`${o.faults ? 'faulty' : 'clean'} run's data and service logs: ${dataDir}`);
  const groups = [
    { groupId: `${prefix}sessionizer-router`, topics: [topics.touchpoints] },
    { groupId: `${prefix}sessionizer-sessions`, topics: [topics.identifiedTouchpoints] },
    { groupId: `${prefix}writer`, topics: [topics.customerTouchpoints, topics.sessions, topics.stageTransitions, topics.funnelEvents, topics.churnScores] },
  ];
  for (const name of procs.names) await procs.start(name);

  const random = createPrng(o.seed);
  const plan: Array<{ at: number; kind: 'kill' | 'broker' | 'clickhouse'; target: string }> = [];
  if (o.faults) {
    const victims: ServiceName[] = ['sessionizer', 'writer'];
    for (let i = 0; i < o.faults.kills; i++) plan.push({ at: Math.floor(random() * o.events), kind: 'kill', target: victims[i % victims.length]! });
    for (let i = 0; i < o.faults.brokerRestarts; i++) plan.push({ at: Math.floor(random() * o.events), kind: 'broker', target: 'kafka' });
    for (let i = 0; i < o.faults.clickhouseOutages; i++) plan.push({ at: Math.floor(random() * o.events), kind: 'clickhouse', target: 'clickhouse' });
    plan.sort((a, b) => a.at - b.at);
  }

  const producer = createKafkaProducer(o.kafka, { name: 'faults-input' });
  await producer.start();
  const codec = topicCodecs.touchpoints();
  const ids = new Set<string>();
  const faults: FaultRecord[] = [];
  let sent = 0;
  let attempts = 0;
  const sources = loadSources('services/collector/sources.local.yaml');
  for (const chunk of knownTouchpoints({ seed: o.seed, count: o.events, startTime: o.startTime, sources, chunk: 2_000 })) {
    for (const tp of chunk) ids.add(tp.messageId);
    const records = chunk.map((tp) => ({ topic: topics.touchpoints, key: identityKey(tp), value: codec.encode(tp) }));
    // At-least-once input, as a collector retrying after a broker crash would produce.
    for (;;) {
      attempts++;
      try {
        await producer.send(records);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    sent += chunk.length;
    while (plan.length > 0 && plan[0]!.at <= sent) {
      const fault = plan.shift()!;
      const t0 = Date.now();
      if (fault.kind === 'kill') {
        await procs.kill9(fault.target as ServiceName);
        await procs.start(fault.target as ServiceName);
      } else if (fault.kind === 'broker') {
        o.broker.hardRestart();
      } else {
        await procs.kill9('writer');
        await new Promise((r) => setTimeout(r, o.faults!.clickhouseOutageMs));
        await procs.start('writer');
      }
      const restartMs = Date.now() - t0;
      const healthyMs = restartMs + (await waitHealthy(procs.healthUrls(), 180_000));
      await waitForProgress(o.kafka, groups, 300_000);
      const recoveryMs = Date.now() - t0;
      faults.push({ kind: fault.kind, target: fault.target, atEvent: sent, restartMs, healthyMs, recoveryMs });
      o.log(`fault ${fault.kind} ${fault.target} at event ${sent}: running again after ${restartMs} ms, healthy after ${healthyMs} ms, processing after ${recoveryMs} ms`);
    }
  }
  await producer.stop();
  o.log(`input produced: ${sent} events (${ids.size} distinct ids); draining`);
  await waitForQuiescence(o.kafka, groups, o.drainTimeoutMs).catch((error: Error) => {
    const tails = procs.names.map((n) => `--- ${n} ---\n${procs.get(n)?.output().slice(-3000) ?? '(not running)'}`);
    throw new Error(`${error.message}\n${tails.join('\n')}`);
  });
  // The services' counters as the pass ends (restores, merge waits, duplicates dropped...), beside their logs.
  await Promise.all(
    procs.healthUrls().map(async (url, i) => {
      const text = await fetch(url.replace(/\/healthz$/, '/metrics')).then((r) => r.text(), (e: Error) => `metrics unavailable: ${e.message}`);
      writeFileSync(join(dataDir, 'logs', `metrics-${i}.txt`), `# ${url}\n${text}`);
    }),
  );
  await procs.stopAll();

  const query = async <T>(sql: string): Promise<T[]> => JSON.parse(await runScript('tests/support/query-embedded.ts', { DATA_DIR: dataDir }, [sql])) as T[];
  const [tpCounts] = await query<{ rows: number; distinct_ids: number }>('SELECT count() AS rows, uniqExact(message_id) AS distinct_ids FROM journey.touchpoints');
  const [tpFinal] = await query<{ rows: number }>('SELECT count() AS rows FROM journey.touchpoints FINAL');
  const sessionRows = (
    await query<{ s: string }>(
      `SELECT concat(session_id, '|', customer_id, '|', toString(event_count), '|', toString(started_at), '|', toString(ended_at)) AS s
       FROM journey.sessions FINAL WHERE status != 'merged' ORDER BY s`,
    )
  ).map((r) => r.s);
  const [digest] = await query<{ d: string }>(
    `SELECT toString(groupBitXor(cityHash64(session_id, customer_id, event_count, started_at, ended_at))) AS d FROM journey.sessions FINAL WHERE status != 'merged'`,
  );
  const funnel = (
    await query<{ stage: string; kind: string; events: number; customers: number }>(
      `SELECT toString(stage) AS stage, toString(kind) AS kind, count() AS events, uniqExact(customer_id) AS customers
       FROM journey.funnel_events FINAL GROUP BY stage, kind ORDER BY stage, kind`,
    )
  ).map((r) => ({ ...r, events: Number(r.events), customers: Number(r.customers) }));
  const funnelRows = (
    await query<{ s: string }>(
      `SELECT concat(toString(kind), '|', toString(stage), '|', customer_id, '|', ifNull(toString(from_stage), '')) AS s FROM journey.funnel_events FINAL ORDER BY s`,
    )
  ).map((r) => r.s);
  const rows = Number(tpCounts!.rows);
  const distinct = Number(tpCounts!.distinct_ids);
  return {
    inputEvents: sent,
    inputDistinctIds: ids.size,
    producedWithRetries: attempts,
    faults,
    touchpoints: { rows, distinctIds: distinct, finalRows: Number(tpFinal!.rows) },
    lostEvents: ids.size - distinct,
    duplicateRowsBeforeMerge: rows - distinct,
    duplicateRowsAfterDedup: Number(tpFinal!.rows) - distinct,
    sessions: { count: sessionRows.length, digest: digest!.d },
    funnel,
    sessionRows,
    funnelRows,
    elapsedMs: Date.now() - started,
  };
}
