// The journey processor alone (the sessionizer service: identity router + journey step) on the
// fault run's input, read from `touchpoints` as a backlog: events/s and CPU-seconds per million
// events, to set beside a Kafka Streams session-window job on the same topic and machine
// (docs/performance.md). Also counts the Kafka records the processing wrote per input touchpoint.
import '../../services/platform/kafka/kafkajs-patches.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { parse as parseYaml } from 'yaml';
import { identityKey } from '../../schemas/touchpoint.js';
import { topicCodecs, topicsWithPrefix } from '../../schemas/topics.js';
import { loadSources } from '../../services/platform/segment/sources-file.js';
import { ensureTopics } from '../../services/platform/kafka/admin.js';
import { pipelineTopicSpecs } from '../../services/platform/kafka/pipeline-topics.js';
import { createKafkaProducer } from '../../services/platform/kafka/producer.js';
import { knownTouchpoints } from '../faults/input.js';
import { groupLag } from '../faults/quiescence.js';
import { startServiceProcess, waitForOutput } from '../support/processes.js';
import { brokerPid, cpuSecondsOrNaN, peakRssMb, threadCpuSeconds } from './proc-stats.js';

export interface JourneyBenchOptions {
  brokers: string;
  events: number;
  seed: number;
  /** Writes a V8 CPU profile of the sessionizer here (node --cpu-prof) when set. */
  cpuProfileDir?: string;
  /** More node flags for the sessionizer process (e.g. `--max-semi-space-size=64`, docs/performance.md). */
  sessionizerNodeArgs?: string[];
  /** ATTRIBUTION_ENABLED for the sessionizer (undefined: the sessionizer's default); recorded in the result. */
  attribution?: boolean;
  /**
   * 'fault' (default): the fault run's input. 'e2e': what the e2e bench's flat-out phase sends
   * (tests/bench/simulator-fast.yaml at 50,000 calls/s of simulated time, seed 1001): the same
   * processing on the e2e's mix of customers, without the e2e's other processes.
   */
  input?: 'fault' | 'e2e';
  log: (line: string) => void;
}

const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

export async function runJourneyBench(o: JourneyBenchOptions): Promise<unknown> {
  const kafka = new Kafka({ brokers: o.brokers.split(','), logLevel: logLevel.NOTHING });
  const prefix = `jb${Date.now().toString(36)}.`;
  const topics = topicsWithPrefix(prefix);
  await ensureTopics(kafka, pipelineTopicSpecs(topics, 4));
  const e2eInput = o.input === 'e2e';
  const overlay = e2eInput ? { ...(parseYaml(readFileSync('tests/bench/simulator-fast.yaml', 'utf8')) as Record<string, unknown>), arrival: { callsPerSecond: 50_000 } } : undefined;
  const seed = e2eInput ? 1001 : o.seed;
  o.log(`journey: producing ${o.events} touchpoints (${e2eInput ? "the e2e flat-out phase's input" : "the fault run's input"}, seed ${seed}) as a backlog`);
  const producer = createKafkaProducer(kafka, { name: 'journey-bench' });
  await producer.start();
  const codec = topicCodecs.touchpoints();
  const sources = loadSources('services/collector/sources.local.yaml');
  let produced = 0;
  for (const chunk of knownTouchpoints({ seed, count: o.events, startTime: Date.now() - 6 * 3_600_000, sources, chunk: 5_000, overlay })) {
    await producer.send(chunk.map((tp) => ({ topic: topics.touchpoints, key: identityKey(tp), value: codec.encode(tp) })));
    produced += chunk.length;
  }
  await producer.stop();
  const before = await endOffsets(kafka, Object.values(topics));

  const dataDir = mkdtempSync(join(tmpdir(), 'journey-bench-'));
  const groupId = `${prefix}sessionizer`;
  const groups = [
    { groupId: `${groupId}-router`, topics: [topics.touchpoints] },
    { groupId: `${groupId}-sessions`, topics: [topics.identifiedTouchpoints] },
  ];
  const broker = brokerPid(Number(o.brokers.split(':').at(-1)));
  const brokerCpuBefore = cpuSecondsOrNaN(broker);
  const loadAtStart = loadavg()[0]!;
  const started = Date.now();
  const svc = startServiceProcess('services/sessionizer/main.ts', {
    KAFKA_BROKERS: o.brokers,
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_PARTITIONS: '4',
    DATA_DIR: dataDir,
    SESSIONIZER_GROUP_ID: groupId,
    SESSIONIZER_HTTP_PORT: '0',
    // Event time only, as in the fault run: the backlog's hours of event time are not "late".
    SESSION_MAX_EVENT_LAG_MINUTES: '1440',
    ...(o.attribution === undefined ? {} : { ATTRIBUTION_ENABLED: String(o.attribution) }),
    LOG_LEVEL: 'warn',
  }, [...(o.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfileDir}`] : []), ...(o.sessionizerNodeArgs ?? [])]);
  try {
    await waitForOutput(svc, 'health at', 120_000);
    // Drained: both groups have committed everything, twice in a row (the journey step's input
    // keeps growing while the router works).
    for (let quiet = 0; quiet < 2; ) {
      await new Promise((r) => setTimeout(r, 500));
      const lags = await Promise.all(groups.map((g) => groupLag(kafka, g.groupId, g.topics).catch(() => Infinity)));
      quiet = lags.every((l) => l === 0) ? quiet + 1 : 0;
    }
    const seconds = (Date.now() - started) / 1000;
    const cpu = cpuSecondsOrNaN(svc.child.pid);
    const threads = svc.child.pid ? threadCpuSeconds(svc.child.pid) : { main: NaN, other: NaN };
    const brokerCpu = cpuSecondsOrNaN(broker) - brokerCpuBefore;
    const after = await endOffsets(kafka, Object.values(topics));
    const written: Record<string, number> = {};
    for (const [key, topic] of Object.entries(topics)) {
      const n = (after.get(topic) ?? 0) - (before.get(topic) ?? 0);
      if (n > 0) written[key] = round(n / produced, 3);
    }
    const result = {
      input: e2eInput ? 'e2e flat-out (simulator-fast.yaml, 50,000 calls/s, seed 1001)' : `fault run (seed ${seed})`,
      attribution: o.attribution ?? 'default',
      events: produced,
      seconds: round(seconds, 1),
      eventsPerSecond: Math.round(produced / seconds),
      cpuSecondsPerMillion: { sessionizer: round((cpu / produced) * 1e6, 1), broker: round((brokerCpu / produced) * 1e6, 1) },
      // The sessionizer's CPU by thread: the main thread (what a CPU profile shows) and the others (V8's GC and compiler helpers).
      sessionizerThreadsCpuSecondsPerMillion: { main: round((threads.main / produced) * 1e6, 1), other: round((threads.other / produced) * 1e6, 1) },
      recordsWrittenPerTouchpoint: written,
      recordsWrittenPerTouchpointTotal: round(Object.values(written).reduce((a, b) => a + b, 0), 2),
      peakRssMb: svc.child.pid ? peakRssMb(svc.child.pid) : null,
      loadAverage: { start: round(loadAtStart, 2), end: round(loadavg()[0]!, 2) },
    };
    o.log(`journey: ${JSON.stringify(result)}`);
    return result;
  } finally {
    svc.child.kill('SIGTERM');
    await svc.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Sum over partitions of each topic's end offset. */
async function endOffsets(kafka: Kafka, topics: string[]): Promise<Map<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const out = new Map<string, number>();
    for (const topic of topics) out.set(topic, (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0));
    return out;
  } finally {
    await admin.disconnect();
  }
}
