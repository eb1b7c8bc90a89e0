// Runs one benchmark step in its own process (each embedded ClickHouse needs a process of its own,
// and memory figures stay per step) and prints its figures as the last line: RESULT <json>.
import { runAlertingBench } from './alerting.bench.js';
import { runCollectorCoreBench } from './collector-core.bench.js';
import { runE2eBench } from './e2e.bench.js';
import { runQueriesBench } from './queries.bench.js';
import { runSessionizerBench } from './sessionizer.bench.js';
import { runSimulatorBench } from './simulator.bench.js';
import { runStagesBench } from './stages.bench.js';

const [name, brokers = '127.0.0.1:19092'] = process.argv.slice(2);
const env = (key: string, fallback: number) => Number(process.env[key] ?? fallback);
const steps: Record<string, () => Promise<unknown>> = {
  simulator: () => runSimulatorBench(),
  collector: () => runCollectorCoreBench(),
  sessionizer: () => runSessionizerBench(),
  stages: () => runStagesBench(),
  alerting: () => runAlertingBench(),
  queries: () => runQueriesBench({ touchpoints: env('BENCH_QUERY_TOUCHPOINTS', 10_000_000) }),
  e2e: () =>
    runE2eBench({
      brokers,
      maxSeconds: env('BENCH_MAX_SECONDS', 60),
      rateSeconds: env('BENCH_RATE_SECONDS', 60),
      rate: env('BENCH_RATE', 10_000),
      log: (line) => process.stderr.write(`[bench] ${line}\n`),
    }),
};
const step = steps[name ?? ''];
if (!step) {
  process.stderr.write(`unknown step ${name}; steps: ${Object.keys(steps).join(', ')}\n`);
  process.exit(2);
}
const result = await step();
process.stdout.write(`\nRESULT ${JSON.stringify(result)}\n`);
process.exit(0);
