// Runs one benchmark step in its own process (each embedded ClickHouse needs a process of its own,
// and memory figures stay per step) and prints its figures as the last line: RESULT <json>.
import { startDedicatedBroker } from '../faults/broker.js';
import { runAlertingBench } from './alerting.bench.js';
import { runCollectorCoreBench } from './collector-core.bench.js';
import { runE2eBench } from './e2e.bench.js';
import { runImportBench } from './import.bench.js';
import { runJourneyBench } from './journey.bench.js';
import { runQueriesBench } from './queries.bench.js';
import { runSessionizerBench } from './sessionizer.bench.js';
import { runSimulatorBench } from './simulator.bench.js';
import { runStagesBench } from './stages.bench.js';
import { runStateBench } from './state.bench.js';
import { runWhaleBench } from './whale.bench.js';

const [name, brokers = '127.0.0.1:19092'] = process.argv.slice(2);
const env = (key: string, fallback: number) => Number(process.env[key] ?? fallback);
const steps: Record<string, () => Promise<unknown>> = {
  simulator: () => runSimulatorBench(),
  collector: () => runCollectorCoreBench(),
  sessionizer: () => runSessionizerBench(),
  stages: () => runStagesBench(),
  alerting: () => runAlertingBench(),
  // BENCH_QUERY_ONLY=attribution: only the endpoints whose key starts so (a shorter run at 10 M).
  queries: () => runQueriesBench({ touchpoints: env('BENCH_QUERY_TOUCHPOINTS', 10_000_000), only: process.env.BENCH_QUERY_ONLY?.split(',').filter(Boolean) }),
  journey: () => journey(),
  import: () => importStep(),
  state: () => stateStep(),
  // In process, no broker: BENCH_WHALE_EVENTS (300,000) per run, flushed every BENCH_WHALE_BATCH (1,000).
  whale: async () => runWhaleBench({ events: env('BENCH_WHALE_EVENTS', 300_000), batch: env('BENCH_WHALE_BATCH', 1_000), log: benchLog }),
  e2e: () => e2e(),
};
/** Runs `step` against a broker of its own on `port` (a fresh data directory), stopped afterwards or on Ctrl-C. */
async function onDedicatedBroker(port: number, step: (brokers: string) => Promise<unknown>): Promise<unknown> {
  const dedicated = startDedicatedBroker(port);
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      dedicated.destroy();
      process.exit(130);
    });
  try {
    return await step(dedicated.brokers);
  } finally {
    dedicated.destroy();
  }
}
const benchLog = (line: string) => process.stderr.write(`[bench] ${line}\n`);
/** The journey processor on the fault run's input as a backlog (BENCH_JOURNEY_EVENTS, 1,000,000), on a broker of its own. */
const journey = () =>
  onDedicatedBroker(env('BENCH_JOURNEY_KAFKA_PORT', 19_392), (brokers) => {
    const run = (attribution: boolean | undefined) =>
      runJourneyBench({
        brokers,
        events: env('BENCH_JOURNEY_EVENTS', 1_000_000),
        seed: env('FAULT_SEED', 11),
        cpuProfileDir: process.env.BENCH_CPU_PROFILE_DIR,
        // BENCH_SESSIONIZER_NODE_ARGS: node flags for the sessionizer, space-separated (GC experiments).
        sessionizerNodeArgs: process.env.BENCH_SESSIONIZER_NODE_ARGS?.split(' ').filter(Boolean),
        input: process.env.BENCH_JOURNEY_INPUT === 'e2e' ? 'e2e' : 'fault',
        ...(attribution === undefined ? {} : { attribution }),
        log: benchLog,
      });
    // BENCH_JOURNEY_ATTRIBUTION=on|off: the journey step with or without attribution (its cost, README:
    // Benchmarks); `paired`: both at once, each on its own topics of the one broker, so that both see
    // the same load from the rest of the machine (one after the other, a loaded machine's swings
    // exceeded the difference). Their broker figure is then the two runs' together.
    const setting = process.env.BENCH_JOURNEY_ATTRIBUTION;
    if (setting === 'paired') return Promise.all([run(true), run(false)]).then(([on, off]) => ({ on, off }));
    return run(setting ? setting === 'on' : undefined);
  });
/** A simulated history (BENCH_IMPORT_DAYS x BENCH_IMPORT_CUSTOMERS) imported through the pipeline, on a broker of its own. */
const importStep = () =>
  onDedicatedBroker(env('BENCH_IMPORT_KAFKA_PORT', 19_492), (brokers) =>
    runImportBench({ brokers, days: env('BENCH_IMPORT_DAYS', 30), customers: env('BENCH_IMPORT_CUSTOMERS', 10_000), seed: env('SIMULATOR_SEED', 42), log: benchLog }),
  );
/**
 * The journey processor's state at scale (BENCH_STATE_CUSTOMERS, 1,000,000): restore time and memory
 * per million customers, and a joining instance restoring only its partitions; on a broker of its own.
 */
const stateStep = () =>
  onDedicatedBroker(env('BENCH_STATE_KAFKA_PORT', 19_592), (brokers) =>
    runStateBench({ brokers, customers: env('BENCH_STATE_CUSTOMERS', 1_000_000), cpuProfileDir: process.env.BENCH_CPU_PROFILE_DIR, log: benchLog }),
  );
/**
 * The e2e step runs on a broker of its own (BENCH_KAFKA_PORT, default 19292; a fresh data directory)
 * so the broker's CPU is this run's alone; BENCH_KAFKA_PORT=shared uses the broker `npm run bench`
 * brought up. BENCH_RATES=5000,10000 runs a fixed-rate phase per rate (BENCH_RATE: one rate).
 */
async function e2e(): Promise<unknown> {
  const shared = process.env.BENCH_KAFKA_PORT === 'shared';
  const dedicated = shared ? undefined : startDedicatedBroker(env('BENCH_KAFKA_PORT', 19_292));
  // Ctrl-C or a kill must not leave the broker running (it ignores the terminal's SIGINT).
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      dedicated?.destroy();
      process.exit(130);
    });
  try {
    return await runE2eBench({
      brokers: dedicated?.brokers ?? brokers,
      dedicatedBroker: dedicated !== undefined,
      maxSeconds: env('BENCH_MAX_SECONDS', 60),
      rateSeconds: env('BENCH_RATE_SECONDS', 60),
      rates: (process.env.BENCH_RATES ?? String(env('BENCH_RATE', 10_000))).split(',').map(Number).filter((r) => r > 0),
      sampleEvery: env('BENCH_SAMPLE_EVERY', 50),
      freshnessDeadlineSeconds: env('BENCH_FRESHNESS_DEADLINE_SECONDS', 120),
      cpuProfileDir: process.env.BENCH_CPU_PROFILE_DIR,
      collectorPort: env('BENCH_COLLECTOR_PORT', 18_080),
      writerFlushMs: env('BENCH_WRITER_FLUSH_MS', 500),
      log: (line) => process.stderr.write(`[bench] ${line}\n`),
    });
  } finally {
    dedicated?.destroy();
  }
}
const step = steps[name ?? ''];
if (!step) {
  process.stderr.write(`unknown step ${name}; steps: ${Object.keys(steps).join(', ')}\n`);
  process.exit(2);
}
const result = await step();
process.stdout.write(`\nRESULT ${JSON.stringify(result)}\n`);
process.exit(0);
