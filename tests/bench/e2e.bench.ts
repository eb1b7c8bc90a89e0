import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Admin, ConfigResourceTypes, ConfigSource } from 'kafkajs';
import { TOPIC_NAMES, topicCodecs, topicsWithPrefix, type TopicKey } from '../../schemas/topics.js';
import { ensureTopics } from '../../services/platform/kafka/admin.js';
import { createKafka } from '../../services/platform/kafka/client.js';
import { pipelineTopicSpecs } from '../../services/platform/kafka/pipeline-topics.js';
import { createLogger } from '../../services/platform/logging/logger.js';
import { waitHealthy } from '../faults/services.js';
import { startServiceProcess, waitForOutput, type ServiceProcess } from '../support/processes.js';
import { createFreshnessPoller } from './freshness.js';
import { benchWriter } from './bench-writer.js';
import { brokerPid, cpuSecondsOrNaN, distribution, peakRssMb } from './proc-stats.js';

export interface E2eOptions {
  brokers: string;
  /** Whether the broker serves this run alone (then its CPU is this run's). */
  dedicatedBroker: boolean;
  /** Seconds of the flat-out phase. */
  maxSeconds: number;
  /** Seconds of load of each fixed-rate phase (freshness). */
  rateSeconds: number;
  /** Offered rates of the fixed-rate phases, run one after the other; `fixedRate` reports the first. */
  rates: number[];
  /** Every Nth record (by offset, per partition) of each observed topic is a sampled event. */
  sampleEvery: number;
  /** After a fixed-rate load stops, how long sampled events may still take to become queryable. */
  freshnessDeadlineSeconds: number;
  /** Writes a V8 CPU profile of the collector and the sessionizer here (node --cpu-prof) when set. */
  cpuProfileDir?: string;
  /** The collector's HTTP port (two runs at once need two). */
  collectorPort: number;
  /** The writer's WRITER_FLUSH_INTERVAL_MS: how long a touchpoint waits for its block at most. */
  writerFlushMs: number;
  log: (line: string) => void;
}

const POLL_EVERY_MS = 100;
/** The pipeline's processes besides the writer (which runs here, owning the embedded ClickHouse). */
const SERVICES = [
  ['collector', 'services/collector/main.ts', 'collector:'],
  ['sessionizer', 'services/sessionizer/main.ts', 'health at'],
] as const;
const WRITER = 'writer+clickhouse (bench process)';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// kafkajs' enums exist at run time but are not ESM named exports of its CommonJS module.
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;
const TOPIC_CONFIG_SOURCE = 1 as ConfigSource;
const round = (x: number, digits = 0) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : null);

/**
 * The whole pipeline on this machine: collector and sessionizer (identity + journey step) as processes, the writer
 * (which owns the embedded ClickHouse) in this process next to a poller that sees rows arrive; the
 * simulator sends over HTTP from its own process. Phase 1 sends as fast as the collector takes it;
 * then each rate of `rates` in turn at that fixed rate. There, the sampled events (CRC32 of the
 * messageId, freshness.ts) are timed from acceptance (receivedAt) to the first poll that finds them
 * in ClickHouse; after each phase (outside its measured time) a hop reader (hop-reader.ts) reads what
 * the phase appended to each topic that carries touchpoints, which gives the sampled events the
 * collector accepted (so the ones never found are counted) and their broker append time on each
 * topic (per-hop latency). CPU is read from /proc for every process, the broker included, over the
 * measured phases.
 */
export async function runE2eBench(o: E2eOptions): Promise<Record<string, unknown>> {
  const COLLECTOR_PORT = o.collectorPort;
  const loadAtStart = loadavg();
  const prefix = `b${Date.now().toString(36)}.`;
  const topics = topicsWithPrefix(prefix);
  const dataDir = mkdtempSync(join(tmpdir(), 'journey-bench-'));
  const logger = createLogger('bench', 'warn');
  const kafka = createKafka({ brokers: o.brokers.split(','), clientId: 'bench', logger });
  await ensureTopics(kafka, pipelineTopicSpecs(topics, 4));
  const admin = patientAdmin(kafka.admin());
  await admin.connect();
  // The hop topics: every topic whose records carry a touchpoint (touchpoints, identified-touchpoints,
  // customer-touchpoints today). Stamped by the broker on append, so a record's timestamp is its arrival.
  const hopKeys = (Object.keys(TOPIC_NAMES) as TopicKey[]).filter((k) => {
    const codec = (topicCodecs as Partial<Record<TopicKey, () => { name: string }>>)[k];
    return codec !== undefined && ['touchpoint', 'journey-record'].includes(codec().name);
  });
  const timestampType = await stampOnAppend(
    admin,
    hopKeys.map((k) => topics[k]),
  ).catch((error: Error) => `CreateTime (setting LogAppendTime failed: ${error.message})`);

  const env = { KAFKA_BROKERS: o.brokers, KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: '4', LOG_LEVEL: 'warn', SESSIONIZER_GROUP_ID: `${prefix}sess`, COLLECTOR_HTTP_PORT: String(COLLECTOR_PORT), SESSIONIZER_HTTP_PORT: '0' };
  const procs: Record<string, ServiceProcess> = {};
  for (const [name, entry, banner] of SERVICES) {
    procs[name] = startServiceProcess(entry, env, o.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(o.cpuProfileDir, name)}`] : []);
    await waitForOutput(procs[name]!, banner, 120_000);
  }
  // The collector answers before its producer is connected (503 until then): wait for healthy.
  await waitHealthy([`http://127.0.0.1:${COLLECTOR_PORT}/healthz`], 60_000);
  const { ch, writer } = await benchWriter({ kafka, topics, prefix, dataDir, flushIntervalMs: o.writerFlushMs, logger });
  await writer.start();

  const touchpointRows = async () => Number((await (await ch.client.query({ query: 'SELECT count() AS c FROM journey.touchpoints', format: 'JSONEachRow' })).json<{ c: number }>())[0]!.c);
  const acceptedTotal = async () => {
    const text = await (await fetch(`http://127.0.0.1:${COLLECTOR_PORT}/metrics`)).text();
    return [...text.matchAll(/^collector_events_accepted_total\{[^}]*\} (\d+)/gm)].reduce((s, m) => s + Number(m[1]), 0);
  };
  /** Records not yet committed by any of this run's consumer groups, whatever the groups are called. */
  const lag = async () => {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    const ends = new Map<string, Array<{ partition: number; high: string; low: string }>>();
    let total = 0;
    for (const groupId of groups) {
      for (const t of await admin.fetchOffsets({ groupId })) {
        if (!ends.has(t.topic)) ends.set(t.topic, await admin.fetchTopicOffsets(t.topic));
        for (const end of ends.get(t.topic)!) {
          const c = t.partitions.find((p) => p.partition === end.partition);
          total += Math.max(0, Number(end.high) - (c && Number(c.offset) >= 0 ? Number(c.offset) : Number(end.low)));
        }
      }
    }
    return total;
  };
  const drain = async (timeoutMs: number) => {
    const started = Date.now();
    while ((await lag()) > 0 && Date.now() - started < timeoutMs) await sleep(1000);
    return (Date.now() - started) / 1000;
  };

  // CPU: every process of the pipeline, read at the start and end of each measured phase.
  const brokerPort = Number(/:(\d+)$/.exec(o.brokers.split(',')[0]!)?.[1] ?? 19092);
  const broker = brokerPid(brokerPort);
  const pids: Record<string, number> = { ...Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, p.child.pid!])), [WRITER]: process.pid };
  if (broker !== undefined) pids.broker = broker;
  type Snapshot = { at: number; cpu: Record<string, number>; accepted: number };
  const snapshot = async (): Promise<Snapshot> => ({ at: Date.now(), accepted: await acceptedTotal(), cpu: Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSecondsOrNaN(pid)])) });
  const measured = { seconds: 0, accepted: 0, cpu: Object.fromEntries(Object.keys(pids).map((k) => [k, 0])) as Record<string, number>, simulator: 0 };
  /** CPU per accepted event of one phase (and adds the phase to the run's totals). */
  const account = (from: Snapshot, to: Snapshot, simulatorCpu: number) => {
    const events = to.accepted - from.accepted;
    const cpu = Object.fromEntries(Object.keys(pids).map((k) => [k, to.cpu[k]! - from.cpu[k]!]));
    measured.seconds += (to.at - from.at) / 1000;
    measured.accepted += events;
    for (const k of Object.keys(cpu)) measured.cpu[k]! += cpu[k]!;
    measured.simulator += simulatorCpu;
    const total = Object.values(cpu).reduce((s, x) => s + x, 0);
    return { cpuMicrosPerEvent: round((total * 1e6) / events), cpuMicrosPerEventByProcess: Object.fromEntries(Object.entries(cpu).map(([k, s]) => [k, round((s * 1e6) / events)])) };
  };

  const simulator = (mode: 'max' | 'realtime', rate: number, seed: number) =>
    startServiceProcess('services/simulator/main.ts', {
      COLLECTOR_URL: `http://127.0.0.1:${COLLECTOR_PORT}`,
      SIMULATOR_MODE: mode,
      SIMULATOR_RATE: String(rate),
      SIMULATOR_CONFIG_FILE: 'tests/bench/simulator-fast.yaml',
      SIMULATOR_CONCURRENCY: '16',
      SIMULATOR_BATCH_SIZE: '100',
      // Each phase its own seed, so each phase brings its own people (every simulator run makes
      // new messageIds, so none is dropped as a duplicate either way).
      SIMULATOR_SEED: String(seed),
      LOG_LEVEL: 'warn',
    });

  /** Records on every topic of the run (a bundle counts once: it is one record to the broker). */
  const allTopicKeys = Object.keys(TOPIC_NAMES) as TopicKey[];
  const recordCounts = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const k of allTopicKeys) out[TOPIC_NAMES[k]] = (await admin.fetchTopicOffsets(topics[k])).reduce((s, p) => s + Number(p.high), 0);
    return out;
  };
  const recordsAtStart = await recordCounts();

  // Phase 1: flat out.
  o.log(`phase 1: flat out for ${o.maxSeconds} s`);
  const s1 = await snapshot();
  const r0 = await touchpointRows();
  const sim1 = simulator('max', 50_000, 1001);
  await sleep(o.maxSeconds * 1000);
  const simCpu1 = cpuSecondsOrNaN(sim1.child.pid);
  sim1.child.kill('SIGTERM');
  await sim1.exited;
  const secs1 = (Date.now() - s1.at) / 1000;
  const a1 = await acceptedTotal();
  const r1 = await touchpointRows();
  const lagAfterMax = await lag();
  // Drain, to measure how long the backlog takes to reach ClickHouse.
  const drainSeconds = await drain(300_000);
  const r1d = await touchpointRows();
  const flatOutCpu = account(s1, await snapshot(), simCpu1);
  const flatOut = {
    seconds: Math.round(secs1),
    collectorAcceptedPerSecond: Math.round((a1 - s1.accepted) / secs1),
    clickhouseTouchpointsPerSecondDuring: Math.round((r1 - r0) / secs1),
    endToEndPerSecondIncludingDrain: Math.round((r1d - r0) / (secs1 + drainSeconds)),
    lagWhenLoadStopped: lagAfterMax,
    drainSeconds: Math.round(drainSeconds),
    simulatorCpuCores: round(simCpu1 / secs1, 2),
    simulatorSeed: 1001,
    ...flatOutCpu,
  };

  // Fixed-rate phases, one per rate.
  const poller = await createFreshnessPoller(ch.client, 'journey', o.sampleEvery);
  const offsetsOf = async (keys: TopicKey[]) => {
    const out: Record<string, Record<string, number>> = {};
    for (const k of keys) out[topics[k]] = Object.fromEntries((await admin.fetchTopicOffsets(topics[k])).map((p) => [p.partition, Number(p.high)]));
    return out;
  };
  const fixedRateByRate: Record<string, unknown> = {};
  for (const [i, rate] of o.rates.entries()) {
    const seed = 2001 + i;
    o.log(`phase ${i + 2}: ${rate} events/s for ${o.rateSeconds} s (seed ${seed})`);
    await poller.startPhase();
    const fromOffsets = await offsetsOf(hopKeys);
    const s2 = await snapshot();
    const r2 = await touchpointRows();
    const phaseStart = Date.now();
    const sim = simulator('realtime', rate, seed);
    let maxLag = 0;
    let lagReadAt = phaseStart;
    while (Date.now() - phaseStart < o.rateSeconds * 1000) {
      await poller.poll();
      if (Date.now() - lagReadAt >= 2_000) {
        lagReadAt = Date.now();
        maxLag = Math.max(maxLag, await lag());
      }
      await sleep(POLL_EVERY_MS);
    }
    const simCpu = cpuSecondsOrNaN(sim.child.pid);
    sim.child.kill('SIGTERM');
    await sim.exited;
    const secs = (Date.now() - phaseStart) / 1000;
    const a3 = await acceptedTotal();
    const r3 = await touchpointRows();
    // After the load: keep polling until the pipeline has drained (every group committed all) and
    // no sampled event turned up for 2 s, or the deadline passes.
    const loadStoppedAt = Date.now();
    const deadline = loadStoppedAt + o.freshnessDeadlineSeconds * 1000;
    let lastFound = { count: poller.found().size, at: Date.now() };
    let drainedAt: number | undefined;
    while (Date.now() < deadline) {
      await poller.poll();
      if (poller.found().size !== lastFound.count) lastFound = { count: poller.found().size, at: Date.now() };
      if (Date.now() - lagReadAt >= 1_000) {
        lagReadAt = Date.now();
        drainedAt = (await lag()) === 0 ? (drainedAt ?? Date.now()) : undefined;
      }
      if (drainedAt !== undefined && Date.now() - lastFound.at >= 2_000) break;
      await sleep(POLL_EVERY_MS);
    }
    const drainSecs = ((drainedAt ?? Date.now()) - loadStoppedAt) / 1000;
    const cpuOfPhase = account(s2, await snapshot(), simCpu);

    // Now, outside the measured time: what the phase appended to the hop topics, sampled events only.
    o.log(`phase ${i + 2}: reading the hop topics`);
    const readerStarted = Date.now();
    const samples = await readHops({
      brokers: o.brokers,
      topics: Object.fromEntries(hopKeys.map((k) => [k, topics[k]])),
      sampleEvery: o.sampleEvery,
      groupId: `bench-hop-reader.${prefix}${rate}`,
      from: fromOffsets,
      to: await offsetsOf(hopKeys),
    });
    const readerSeconds = (Date.now() - readerStarted) / 1000;
    /** Each sampled event of the phase: its acceptance and its first arrival on each hop topic. */
    const events = new Map<string, { receivedAt: number; at: Partial<Record<TopicKey, number>> }>();
    for (const s of samples.samples) {
      if (s.receivedAt < phaseStart) continue;
      const e = events.get(s.messageId) ?? { receivedAt: s.receivedAt, at: {} };
      events.set(s.messageId, e);
      e.receivedAt = Math.min(e.receivedAt, s.receivedAt); // an SDK retry's copy is accepted later
      e.at[s.key] = Math.min(e.at[s.key] ?? Infinity, s.recordTs);
    }
    const found = poller.found();
    for (const [id, f] of found) if (f.receivedAt >= phaseStart && !events.has(id)) events.set(id, { receivedAt: f.receivedAt, at: {} });
    const accepted = [...events].filter(([, e]) => e.at.touchpoints !== undefined);
    const neverSeen = accepted.filter(([id]) => !found.has(id)).length;
    const freshnessOf = ([id, e]: [string, { receivedAt: number }]) => found.get(id)!.foundAt - Math.min(e.receivedAt, found.get(id)!.receivedAt);
    const seen = [...events].filter(([id]) => found.has(id));
    const freshness = freshnessPercentiles(seen.map(freshnessOf), neverSeen);
    const pollStats = poller.stats();

    // Per hop: each sampled event from its previous step (acceptance, then each topic it reached) to
    // the next; and from acceptance to each.
    const perHop: Record<string, number[]> = {};
    const sinceAcceptance: Record<string, number[]> = {};
    for (const [id, e] of events) {
      let prev = e.receivedAt;
      for (const k of hopKeys) {
        const at = e.at[k];
        if (at === undefined) continue;
        (perHop[TOPIC_NAMES[k]] ??= []).push(at - prev);
        (sinceAcceptance[TOPIC_NAMES[k]] ??= []).push(at - e.receivedAt);
        prev = at;
      }
      const f = found.get(id);
      if (f) {
        (perHop.queryable ??= []).push(f.foundAt - prev);
        (sinceAcceptance.queryable ??= []).push(f.foundAt - e.receivedAt);
      }
    }
    const hopLatencyMs: Record<string, unknown> = {};
    for (const name of [...hopKeys.map((k) => TOPIC_NAMES[k]), 'queryable']) {
      hopLatencyMs[name] = perHop[name] ? distribution(perHop[name]!) : { samples: 0, note: 'no sampled touchpoint arrived here during the phase (not used by the pipeline?)' };
    }
    hopLatencyMs.sinceAcceptance = Object.fromEntries(Object.entries(sinceAcceptance).map(([k, v]) => [k, distribution(v)]));
    hopLatencyMs.timestampType = timestampType;
    hopLatencyMs.note =
      `Per sampled event (CRC32(messageId) % ${o.sampleEvery} = 0), the time from its previous step to each: touchpoints from acceptance (receivedAt, set by the collector), each later topic from the event's record on the topic before, queryable (the first ClickHouse poll that found it) from its last topic; ` +
      'a topic’s time is the broker’s append time of the event’s first record there. sinceAcceptance: from acceptance to each. ' +
      'Not timed per event: the writer’s buffering apart from its insert (both are in queryable), the journey changelog and the session/stage/funnel topics (their records are not one per touchpoint).';
    fixedRateByRate[String(rate)] = {
      targetPerSecond: rate,
      seconds: Math.round(secs),
      collectorAcceptedPerSecond: Math.round((a3 - s2.accepted) / secs),
      clickhouseTouchpointsPerSecond: Math.round((r3 - r2) / secs),
      freshnessMs: {
        ...freshness,
        samples: seen.length + neverSeen,
        pollEveryMs: POLL_EVERY_MS,
        seen: seen.length,
        neverSeen,
        deadlineSeconds: o.freshnessDeadlineSeconds,
        foundButNotOnTouchpoints: seen.filter(([, e]) => e.at.touchpoints === undefined).length,
        polls: pollStats.polls,
        partsRead: pollStats.partsRead,
        pollQueryMs: { ...distribution(pollStats.pollMs), totalSeconds: round(pollStats.pollMs.reduce((s, x) => s + x, 0) / 1000, 1) },
        method:
          `per event: the sampled events are those with CRC32(messageId) % ${o.sampleEvery} = 0. Every ${POLL_EVERY_MS} ms (after the previous poll answered) the bench reads the parts it has not read yet of a small table that a materialized view fills with the sampled rows of each insert into touchpoints, in that insert (freshness.ts); ` +
          'an event’s freshness is the time the first poll that returned it answered, minus its received_at (an upper bound: it became queryable between the previous poll and this answer). ' +
          'After the load it polls until the pipeline has drained and nothing new turned up for 2 s, or the deadline. The sampled events the collector accepted are read from the touchpoints topic afterwards; ' +
          'percentiles are over every sampled event, and one never found (neverSeen) counts as slower than all found ones, so a percentile that lands on one is null.',
      },
      maxLag,
      drainSeconds: round(drainSecs, 1),
      hopLatencyMs,
      hopReader: { seconds: round(readerSeconds, 1), ...samples.stats },
      simulatorCpuCores: round(simCpu / secs, 2),
      simulatorSeed: seed,
      ...cpuOfPhase,
    };
  }

  const cpuCores = Object.fromEntries(Object.keys(pids).map((k) => [k, round(measured.cpu[k]! / measured.seconds, 2)]));
  const memory = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, peakRssMbOrNull(pid)]));
  const totalCpu = Object.values(measured.cpu).reduce((s, x) => s + x, 0);
  const recordsAtEnd = await recordCounts();
  const recordsWritten = Object.fromEntries(Object.keys(recordsAtEnd).map((t) => [t, recordsAtEnd[t]! - recordsAtStart[t]!]));
  const recordsTotal = Object.values(recordsWritten).reduce((s, x) => s + x, 0);
  await writer.stop();
  for (const p of Object.values(procs)) {
    p.child.kill('SIGTERM');
    await p.exited;
  }
  await admin.disconnect();
  await ch.close();
  const loadAtEnd = loadavg();
  return {
    flatOut,
    fixedRate: fixedRateByRate[String(o.rates[0])],
    fixedRateByRate,
    cpuMicrosPerEvent: round((totalCpu * 1e6) / measured.accepted),
    cpuMicrosPerEventByProcess: Object.fromEntries(Object.keys(pids).map((k) => [k, round((measured.cpu[k]! * 1e6) / measured.accepted)])),
    cpuMicrosPerEventNotInTotal: { simulator: round((measured.simulator * 1e6) / measured.accepted) },
    cpuMeasured: {
      seconds: Math.round(measured.seconds),
      acceptedEvents: measured.accepted,
      note:
        'CPU (user + system, /proc/<pid>/stat) of each process over the flat-out phase and every fixed-rate phase, each with its drain, divided by the events the collector accepted in them. ' +
        `${WRITER} also holds the bench's own polling (freshness queries, lag and metrics reads; see fixedRate.freshnessMs.pollQueryMs). ` +
        (broker === undefined
          ? `No local broker process serves port ${brokerPort}: the broker is not included.`
          : o.dedicatedBroker
            ? 'The broker serves this run alone.'
            : 'The broker is shared: its CPU includes anything else using it meanwhile.'),
    },
    settings: {
      writerFlushIntervalMs: o.writerFlushMs,
      // Service settings this run took from the environment (the services inherit it), beside their defaults.
      serviceEnv: Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(SESSIONIZER|COLLECTOR|WRITER)_/.test(k))),
    },
    kafkaRecordsPerAcceptedEvent: {
      total: round(recordsTotal / measured.accepted, 3),
      ...Object.fromEntries(Object.entries(recordsWritten).filter(([, n]) => n > 0).map(([t, n]) => [t, round(n / measured.accepted, 3)])),
      note: 'Records appended to each topic over the whole run (the measured phases and the hop reader’s waits), per event the collector accepted in the measured phases; a bundle (record-bundle.ts) is one record, as the broker sees it.',
    },
    cpuCoresAverage: cpuCores,
    peakRssMb: memory,
    loadAverage: { start: loadAtStart.map((x) => round(x, 2)), end: loadAtEnd.map((x) => round(x, 2)) },
    broker: { brokers: o.brokers, pid: broker ?? null, dedicated: o.dedicatedBroker, hopTopicTimestamps: timestampType },
  };
}

/**
 * The admin with its offset and group reads retried: on a machine this loaded the broker sometimes
 * answers NOT_LEADER_FOR_PARTITION for a moment (its controller session lapsed), which kafkajs' admin
 * throws at once, and a run of several minutes would end for a figure read between phases.
 */
function patientAdmin(admin: Admin): Admin {
  const patient =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await call(...args);
        } catch (error) {
          if (attempt >= 10 || (error as { retriable?: boolean }).retriable !== true) throw error;
          await sleep(1000);
        }
      }
    };
  return Object.assign(admin, {
    fetchTopicOffsets: patient(admin.fetchTopicOffsets.bind(admin)),
    fetchOffsets: patient(admin.fetchOffsets.bind(admin)),
    listGroups: patient(admin.listGroups.bind(admin)),
  });
}

function peakRssMbOrNull(pid: number): number | null {
  try {
    return peakRssMb(pid);
  } catch {
    return null;
  }
}

/**
 * p50/p90/p99/max of per-event freshness, every sampled event counted: the `neverSeen` ones rank
 * after all seen ones, and a percentile that lands on one of them is null (unknown, beyond the deadline).
 */
function freshnessPercentiles(seenMs: number[], neverSeen: number) {
  const sorted = [...seenMs].sort((x, y) => x - y);
  const n = sorted.length + neverSeen;
  const at = (p: number) => {
    if (n === 0) return null;
    const i = Math.min(n - 1, Math.floor((p / 100) * n));
    return i < sorted.length ? Math.round(sorted[i]!) : null;
  };
  return { p50: at(50), p90: at(90), p99: at(99), max: neverSeen > 0 || sorted.length === 0 ? null : Math.round(sorted[sorted.length - 1]!) };
}

/**
 * Sets `message.timestamp.type=LogAppendTime` on the given topics (keeping their other topic-level
 * settings: AlterConfigs replaces the whole set), so every record carries the broker's append time.
 * No service reads record timestamps. Returns the type now in force.
 */
async function stampOnAppend(admin: Admin, names: string[]): Promise<string> {
  const describe = () => admin.describeConfigs({ includeSynonyms: false, resources: names.map((name) => ({ type: TOPIC_RESOURCE, name })) });
  const before = await describe();
  await admin.alterConfigs({
    validateOnly: false,
    resources: before.resources.map((r) => ({
      type: TOPIC_RESOURCE,
      name: r.resourceName,
      configEntries: [
        ...r.configEntries.filter((e) => e.configSource === TOPIC_CONFIG_SOURCE && e.configName !== 'message.timestamp.type' && !e.isSensitive).map((e) => ({ name: e.configName, value: e.configValue })),
        { name: 'message.timestamp.type', value: 'LogAppendTime' },
      ],
    })),
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const types = new Set((await describe()).resources.map((r) => r.configEntries.find((e) => e.configName === 'message.timestamp.type')?.configValue));
    if (types.size === 1 && types.has('LogAppendTime')) return 'LogAppendTime';
    if (Date.now() > deadline) return `mixed (${[...types].join(', ')})`;
    await sleep(200);
  }
}

interface HopSample {
  key: TopicKey;
  partition: number;
  offset: number;
  recordTs: number;
  messageId: string;
  receivedAt: number;
}

/** Runs tests/bench/hop-reader.ts over [from, to) of the hop topics and returns the sampled records it printed. */
async function readHops(o: { brokers: string; topics: Partial<Record<TopicKey, string>>; sampleEvery: number; groupId: string; from: Record<string, Record<string, number>>; to: Record<string, Record<string, number>> }) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/bench/hop-reader.ts'], {
    env: { ...process.env, BENCH_BROKERS: o.brokers, BENCH_TOPICS: JSON.stringify(o.topics), BENCH_SAMPLE_EVERY: String(o.sampleEvery), BENCH_GROUP_ID: o.groupId, BENCH_FROM: JSON.stringify(o.from), BENCH_TO: JSON.stringify(o.to) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const samples: HopSample[] = [];
  let stats: Record<string, unknown> | undefined;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const f = line.split('\t');
    if (f[0] === 'S') samples.push({ key: f[1] as TopicKey, partition: Number(f[2]), offset: Number(f[3]), recordTs: Number(f[4]), messageId: f[5]!, receivedAt: Number(f[6]) });
    else if (f[0] === 'STATS') stats = JSON.parse(f[1]!);
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const timedOut = await Promise.race([exited.then(() => false), sleep(600_000).then(() => true)]);
  if (timedOut) child.kill('SIGKILL');
  await exited;
  process.removeListener('exit', killOnExit);
  // Without STATS the reader did not read everything: the figures then cover what it did read.
  return { samples, stats: stats ?? { incomplete: timedOut ? 'timed out after 600 s' : `exited early: ${stderr.slice(-500)}` } };
}
