// The journey processor's state at scale: a changelog filled with N customers' state (the values
// the journey step itself writes), then the sessionizer started on it: how long until it has
// restored every partition and processes again, and its resident memory per million customers.
// Then a second instance joins the group: it must restore only the partitions it is given.
import '../../services/platform/kafka/kafkajs-patches.js';
import { runIdentityStoreBench } from './identity-store.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { EVENTS } from '../../schemas/event-names.js';
import type { JourneyRecord } from '../../schemas/journey.js';
import { makeTouchpoint } from '../../schemas/test-touchpoint.js';
import { identityKey } from '../../schemas/touchpoint.js';
import { topicCodecs, topicsWithPrefix, type Topics } from '../../schemas/topics.js';
import { ensureTopics } from '../../services/platform/kafka/admin.js';
import { partitionOfHash } from '../../services/platform/kafka/murmur2.js';
import { pipelineTopicSpecs } from '../../services/platform/kafka/pipeline-topics.js';
import { createKafkaProducer, type OutgoingRecord } from '../../services/platform/kafka/producer.js';
import { parseEnv } from '../../services/platform/config/env.js';
import { SessionizerEnv } from '../../services/sessionizer/config.js';
import { SESSIONIZER_PROCESS_ENV } from '../../services/sessionizer/process-env.js';
import { sessionizerConfig } from '../../services/sessionizer/core/sessions.js';
import { createJourneyProcessor } from '../../services/sessionizer/journey-processor.js';
import { sessionSettings } from '../../services/sessionizer/settings.js';
import { APPLIED_OFFSET_KEY } from '../../services/platform/streams/changelog.js';
import type { StateUpdate } from '../../services/platform/streams/stateful-handler.js';
import { startServiceProcess, waitForOutput, type ServiceProcess } from '../support/processes.js';

export interface StateBenchOptions {
  brokers: string;
  customers: number;
  /** Writes a V8 CPU profile of the restoring sessionizer here (node --cpu-prof) when set. */
  cpuProfileDir?: string;
  log: (line: string) => void;
}

const PARTITIONS = 4;
const DAY = 86_400_000;
/** Customers whose state one generating processor builds before its values are produced. */
const CHUNK = 25_000;
const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;
const noop = () => {};

/**
 * Customer i's touchpoints: a product page view, a product view and, for one in three, an order,
 * minutes apart, at a time spread over the 60 days before `end` (so most are idle, some still
 * remember their message ids, a few have sessions open).
 */
function customerEvents(i: number, customers: number, end: number) {
  const at = end - 60 * DAY + Math.floor((i / customers) * 60 * DAY);
  const userId = `bench-${i}`;
  const base = { userId, anonymousId: null, site: 'shop.example', url: `https://shop.example/products/${i % 997}`, path: `/products/${i % 997}` };
  const events = [
    makeTouchpoint({ ...base, messageId: `${userId}-1`, type: 'page', event: '', timestamp: at }),
    makeTouchpoint({ ...base, messageId: `${userId}-2`, event: EVENTS.productViewed, timestamp: at + 60_000 }),
  ];
  if (i % 3 === 0) events.push(makeTouchpoint({ ...base, messageId: `${userId}-3`, event: EVENTS.orderCompleted, timestamp: at + 180_000 }));
  return events;
}

/** A journey processor as the sessionizer builds it from its default configuration, for `topics`. */
export function benchJourneyProcessor(topics: Topics, now: number) {
  const settings = sessionSettings(parseEnv(SessionizerEnv, {}));
  return createJourneyProcessor({
    sourcePartitions: PARTITIONS,
    mergeWait: settings.mergeWait!,
    bounds: settings.bounds,
    eviction: settings.eviction,
    topics,
    codecs: { record: topicCodecs.identifiedTouchpoints(), session: topicCodecs.sessions(), transition: topicCodecs.stageTransitions(), funnel: topicCodecs.funnelEvents(), churn: topicCodecs.churnScores() },
    sessions: sessionizerConfig(settings.stageOf, settings.sessions),
    stages: settings.stages,
    attribution: settings.attribution,
    tickLimit: settings.tickLimit!,
    maxEventLagMs: settings.maxEventLagMs,
    counters: { duplicates: noop, late: noop, sessionsClosed: noop, touchpoints: noop, transitions: noop, churnAlerts: noop, deadLetter: noop, mergeWaitsExpired: noop, mergeWaitsFull: noop, bounded: noop, oversizedOutput: noop, idleTick: noop },
    now: () => now,
  });
}

/**
 * `customers` customers' state as the journey step writes it, a chunk at a time: each chunk goes
 * through a real journey processor (sessions, dedup ids, journey, churn), then every source's
 * watermark passes it (its sessions close as they would live) and its state updates are taken.
 */
export function* customerStates(topics: Topics, customers: number, end: number): Generator<StateUpdate[]> {
  const recordCodec = topicCodecs.identifiedTouchpoints();
  for (let from = 0; from < customers; from += CHUNK) {
    const processor = benchJourneyProcessor(topics, end);
    let offset = 0;
    const feed = (record: JourneyRecord) =>
      processor.process({ offset: String(offset++), key: null, value: recordCodec.encode(record), timestamp: '0', attributes: 0, headers: {} } as KafkaMessage);
    for (let i = from; i < Math.min(customers, from + CHUNK); i++) {
      for (const touchpoint of customerEvents(i, customers, end)) {
        const customerId = `u:${identityKey(touchpoint)}`;
        feed({ kind: 'touchpoint', customerId, touchpoint: { customerId, accountId: null, sessionId: '', late: false, touchpoint }, mergeInto: null, mergedFrom: null, state: null, source: 0, sourceWatermark: touchpoint.timestamp });
      }
    }
    // Every source's watermark reaches the end, and the time-driven work due by then (sessions
    // closing, drop-offs, churn rescoring) is done, as a live journey step would have done it:
    // otherwise a restore would find all of it due at once.
    for (let source = 0; source < PARTITIONS; source++) {
      feed({ kind: 'watermark', customerId: '', touchpoint: null, mergeInto: null, mergedFrom: null, state: null, source, sourceWatermark: end });
    }
    const eventTime = end - parseEnv(SessionizerEnv, {}).SESSION_GRACE_MINUTES * 60_000;
    do processor.tick(end, { caughtUp: false });
    while ((processor.stages.nextDueAt() ?? Infinity) <= eventTime);
    yield processor.takeStateUpdates();
  }
}

/** How many of the changelog's values are kept for the in-process restore (heap per customer, apply time). */
const SAMPLE = 100_000;

/**
 * Fills the journey changelog with `customers` customers' state, each key on the partition the
 * journey step would write it to; returns the first SAMPLE values too.
 */
async function fillChangelog(kafka: Kafka, topics: Topics, customers: number, end: number, log: (line: string) => void): Promise<{ records: number; bytes: number; sample: StateUpdate[] }> {
  const producer = createKafkaProducer(kafka, { name: 'state-bench' });
  await producer.start();
  let records = 0;
  let bytes = 0;
  const sample: StateUpdate[] = [];
  try {
    for (const chunk of customerStates(topics, customers, end)) {
      if (sample.length < SAMPLE) sample.push(...chunk);
      const updates: OutgoingRecord[] = chunk.map((u) => ({ topic: topics.journeyChangelog, key: u.key, value: u.value, partition: partitionOfHash(u.key, PARTITIONS) }));
      // Each send ends, on every partition, with the applied-offset marker, as each flush of the
      // journey step does (a restore holds a step's records until its marker). -1: no input
      // offset applied, so the probes (offset 0 on) are processed.
      const markers = Array.from({ length: PARTITIONS }, (_, partition): OutgoingRecord => ({ topic: topics.journeyChangelog, key: APPLIED_OFFSET_KEY, value: Buffer.from('-1'), partition }));
      for (let i = 0; i < updates.length; i += 2_000) await producer.send([...updates.slice(i, i + 2_000), ...markers]);
      records += updates.length;
      for (const u of chunk) bytes += u.value?.length ?? 0;
      if ((records / CHUNK) % 8 < 1) log(`state: ${records} records of ${customers} customers in the changelog`);
    }
  } finally {
    await producer.stop();
  }
  return { records, bytes, sample };
}

/**
 * The journey processor taking `values` in this process, without Kafka: the heap its state
 * occupies (after a full GC; needs --expose-gc, which `npm run bench` gives its steps) and the CPU
 * of applying them, per million customers.
 */
function inProcessRestore(topics: Topics, values: StateUpdate[], end: number) {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage();
  const processor = benchJourneyProcessor(topics, end);
  const started = performance.now();
  for (const u of values) if (u.value !== null) processor.restore(u.key, u.value);
  const ms = performance.now() - started;
  gc?.();
  const after = process.memoryUsage();
  const customers = processor.stages.stats().customers;
  const perCustomer = (bytes: number) => (gc ? Math.round(bytes / customers) : Number.NaN);
  return {
    customers,
    applyMsPerMillion: Math.round((ms * 1e6) / customers),
    heapBytesPerCustomer: perCustomer(after.heapUsed - before.heapUsed),
    /** Outside V8's heap: the cold journeys' arena (stages/processor.ts), in buffers. */
    arrayBufferBytesPerCustomer: perCustomer(after.arrayBuffers - before.arrayBuffers),
  };
}

/** Resident memory of a process now (VmRSS), MB. */
function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return kb / 1024;
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat (clock ticks of
 * 1/100 s): unlike the wall clock, it hardly moves with the machine's load.
 */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The pino lines of a service's output with this message. */
const logLines = (svc: ServiceProcess, msg: string): Array<Record<string, unknown>> =>
  svc
    .output()
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Sum over partitions of a topic's end offset. */
async function endOffset(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, svc: ServiceProcess, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`state bench: ${what} not within ${timeoutMs} ms; the sessionizer's output ends:\n${svc.output().slice(-4_000)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** One customer per identified-touchpoints partition, so a processed probe on each proves every partition restored. */
function probes(tag: string, end: number) {
  const out = [];
  for (let p = 0, n = 0; p < PARTITIONS; n++) {
    const userId = `probe-${tag}-${n}`;
    if (partitionOfHash(`u:${userId}`, PARTITIONS) !== p) continue;
    out.push(makeTouchpoint({ messageId: `${userId}-m`, userId, anonymousId: null, timestamp: end }));
    p++;
  }
  return out;
}

/** A touchpoint to every partition (the journey step restores a partition before its first batch). */
async function sendProbes(kafka: Kafka, topics: Topics, tag: string, end: number): Promise<void> {
  const producer = createKafkaProducer(kafka, { name: 'state-bench-probe' });
  await producer.start();
  const codec = topicCodecs.touchpoints();
  await producer.send(probes(tag, end).map((tp) => ({ topic: topics.touchpoints, key: identityKey(tp), value: codec.encode(tp) })));
  await producer.stop();
}

/**
 * A sessionizer process on `topics` (fresh DATA_DIR: no local copy, so it restores from the
 * changelog as a new instance does), waited for until every partition restored and a probe on each
 * was processed. Returns its figures and the process (still running).
 */
async function startAndRestore(kafka: Kafka, o: StateBenchOptions, topics: Topics, prefix: string, end: number, nodeArgs: string[] = []) {
  const dataDir = mkdtempSync(join(tmpdir(), 'state-bench-'));
  const started = Date.now();
  const svc = startServiceProcess(
    'services/sessionizer/main.ts',
    {
      ...SESSIONIZER_PROCESS_ENV,
      KAFKA_BROKERS: o.brokers,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: String(PARTITIONS),
      DATA_DIR: dataDir,
      SESSIONIZER_GROUP_ID: `${prefix}sessionizer`,
      SESSIONIZER_HTTP_PORT: '0',
      SESSION_MAX_EVENT_LAG_MINUTES: '1440',
      LOG_LEVEL: 'info',
    },
    nodeArgs,
  );
  await waitForOutput(svc, 'health at', 300_000);
  o.log(`state: sessionizer up after ${Math.round((Date.now() - started) / 1000)} s; probing every partition`);
  const outputsBefore = await endOffset(kafka, topics.customerTouchpoints);
  await sendProbes(kafka, topics, prefix, end);
  await until(async () => (await endOffset(kafka, topics.customerTouchpoints)) >= outputsBefore + PARTITIONS, 900_000, 'the probes processed', svc);
  const processingAt = Date.now();
  const cpu = cpuSeconds(svc.child.pid!);
  const restores = logLines(svc, 'partition restored');
  const firstRestoreAt = Math.min(...logLines(svc, 'restoring partition state').map((l) => Number(l.time)));
  return {
    svc,
    dataDir,
    /** From the first partition's restore starting to a probe processed on every partition. */
    restoreToProcessingSeconds: (processingAt - firstRestoreAt) / 1000,
    startToProcessingSeconds: (processingAt - started) / 1000,
    /** CPU of the process from its start to a probe processed on every partition. */
    cpuSecondsToProcessing: cpu,
    restoreMs: restores.map((l) => Number(l.ms)),
    readMs: restores.map((l) => Number(l.readMs)),
    /** Values the restore applied (each customer's one value, and the source watermarks). */
    keys: restores.reduce((n, l) => n + Number(l.values), 0),
    /** The process's memory as the last restore ended (after the one full GC): heap against the rest. */
    memoryAfterRestore: memoryAfterRestore(svc),
  };
}

/** The sessionizer's last `memory after restore` line (service.ts), its MB figures only. */
function memoryAfterRestore(svc: ServiceProcess): Record<string, number> {
  const line = logLines(svc, 'memory after restore').sort((a, b) => Number(a.time) - Number(b.time)).at(-1) ?? {};
  return Object.fromEntries(Object.entries(line).filter(([k, v]) => k.endsWith('Mb') && typeof v === 'number')) as Record<string, number>;
}

async function stop(run: { svc: ServiceProcess; dataDir: string }): Promise<void> {
  run.svc.child.kill('SIGTERM');
  await run.svc.exited;
  rmSync(run.dataDir, { recursive: true, force: true });
}

/**
 * RSS once it has settled: three samples a second apart within 2% of each other, or, if the
 * garbage collector keeps it moving, the median of the last 30 s of samples.
 */
async function settledRssMb(pid: number): Promise<number> {
  const samples = [rssMb(pid)];
  for (let steady = 0; steady < 3 && samples.length < 30; ) {
    await new Promise((r) => setTimeout(r, 1_000));
    samples.push(rssMb(pid));
    steady = Math.abs(samples.at(-1)! - samples.at(-2)!) <= samples.at(-2)! * 0.02 ? steady + 1 : 0;
  }
  return samples.length < 30 ? samples.at(-1)! : samples.sort((a, b) => a - b)[15]!;
}

export async function runStateBench(o: StateBenchOptions): Promise<unknown> {
  const kafka = new Kafka({ brokers: o.brokers.split(','), logLevel: logLevel.NOTHING });
  const loadAtStart = loadavg()[0]!;
  const end = Date.now() - DAY;
  const stamp = Date.now().toString(36);

  // The same sessionizer with an empty state: what the process costs without customers.
  const emptyPrefix = `sbe${stamp}.`;
  const emptyTopics = topicsWithPrefix(emptyPrefix);
  await ensureTopics(kafka, pipelineTopicSpecs(emptyTopics, PARTITIONS));
  const empty = await startAndRestore(kafka, o, emptyTopics, emptyPrefix, end);
  const emptyRss = await settledRssMb(empty.svc.child.pid!);
  await stop(empty);
  o.log(`state: an empty sessionizer settles at ${Math.round(emptyRss)} MB`);

  const prefix = `sb${stamp}.`;
  const topics = topicsWithPrefix(prefix);
  await ensureTopics(kafka, pipelineTopicSpecs(topics, PARTITIONS));
  const fillStarted = Date.now();
  const filled = await fillChangelog(kafka, topics, o.customers, end, o.log);
  o.log(`state: changelog filled in ${Math.round((Date.now() - fillStarted) / 1000)} s: ${filled.records} records, ${Math.round(filled.bytes / 2 ** 20)} MiB of values`);
  const inProcess = inProcessRestore(topics, filled.sample, end);
  filled.sample.length = 0;
  o.log(`state: in process, without Kafka: ${JSON.stringify(inProcess)}`);

  const loadBeforeRestore = loadavg()[0]!;
  const first = await startAndRestore(kafka, o, topics, prefix, end, o.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfileDir}`] : []);
  try {
    const rss = await settledRssMb(first.svc.child.pid!);
    const perMillion = 1_000_000 / o.customers;
    o.log(`state: restored ${first.keys} keys; restore to processing ${first.restoreToProcessingSeconds} s; RSS ${Math.round(rss)} MB`);

    // A second instance joins: the group splits the partitions, and it restores only its own.
    const joinerDir = mkdtempSync(join(tmpdir(), 'state-bench-'));
    const joiner = startServiceProcess('services/sessionizer/main.ts', {
      ...SESSIONIZER_PROCESS_ENV,
      KAFKA_BROKERS: o.brokers,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: String(PARTITIONS),
      DATA_DIR: joinerDir,
      SESSIONIZER_GROUP_ID: `${prefix}sessionizer`,
      SESSIONIZER_HTTP_PORT: '0',
      SESSION_MAX_EVENT_LAG_MINUTES: '1440',
      LOG_LEVEL: 'info',
    });
    let joined: { partitions: number[]; keys: number; rssMb: number };
    try {
      // Probes on every partition, again every 2 s, until the rebalance has given the joiner its
      // share and each of its partitions has had a batch.
      let round = 0;
      await until(
        async () => logLines(joiner, 'partition restored').length >= PARTITIONS / 2 || (await sendProbes(kafka, topics, `${prefix}j${round++}`, end), false),
        900_000,
        'the joiner restored',
        joiner,
        2_000,
      );
      const rssJoiner = await settledRssMb(joiner.child.pid!);
      const restored = logLines(joiner, 'partition restored');
      joined = { partitions: restored.map((l) => Number((l.tp as { partition: number }).partition)).sort(), keys: restored.reduce((n, l) => n + Number(l.values), 0), rssMb: Math.round(rssJoiner) };
    } finally {
      joiner.child.kill('SIGTERM');
      await joiner.exited;
      rmSync(joinerDir, { recursive: true, force: true });
    }
    const result = {
      customers: o.customers,
      partitions: PARTITIONS,
      changelogRecords: filled.records,
      changelogValueBytesPerCustomer: round(filled.bytes / o.customers, 1),
      restoredKeys: first.keys,
      restoreSecondsPerMillionCustomers: round(first.restoreToProcessingSeconds * perMillion, 2),
      /** The sessionizer's CPU to processing, over an empty one's, per million: the restore's cost without the machine's load. */
      restoreCpuSecondsPerMillionCustomers: round((first.cpuSecondsToProcessing - empty.cpuSecondsToProcessing) * perMillion, 2),
      restoreMsByPartition: first.restoreMs,
      changelogReadMsByPartition: first.readMs,
      startToProcessingSeconds: round(first.startToProcessingSeconds, 1),
      rssMb: Math.round(rss),
      emptyRssMb: Math.round(emptyRss),
      rssMbPerMillionCustomers: Math.round((rss - emptyRss) * perMillion),
      /** The restored process's and the empty one's heap and RSS as their restores ended (MB). */
      memoryAfterRestore: first.memoryAfterRestore,
      emptyMemoryAfterRestore: empty.memoryAfterRestore,
      /** The journey processor alone, in the bench process, on the first 100,000 customers' values: heap after a full GC, CPU to apply them. */
      inProcess,
      secondInstance: { restoredPartitions: joined.partitions, restoredKeys: joined.keys, rssMb: joined.rssMb },
      tenMillionRun: false,
      /** The identity graph alone, 2,000,000 identity-links entries, in memory and in LMDB (identity-store.ts). */
      identity: runIdentityStoreBench(2_000_000, o.log),
      loadAverage: { start: round(loadAtStart, 2), beforeRestore: round(loadBeforeRestore, 2), end: round(loadavg()[0]!, 2) },
    };
    o.log(`state: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await stop(first);
  }
}
