import { parseSimulatorConfig, type SimulatorConfigInput } from '../../services/simulator/core/config.js';
import { createSimulator, type Simulator } from '../../services/simulator/core/generator.js';

/**
 * Traffic generator throughput (`npm run bench`): Segment calls generated per second of wall time,
 * in steady state (after a warm-up that fills the simulation with journeys in flight), without and
 * with JSON serialisation of /v1/batch bodies. Two scenarios:
 *  - `default`: the default config (200 calls per simulated second, 10-minute visit gaps);
 *  - `realtime_50k`: 50k calls per simulated second with compressed gaps (1 s between pages,
 *    10 s between visits), i.e. what a real-time sender at 50k events/s keeps in memory.
 */
const BATCH = 500;
const START = Date.UTC(2025, 0, 6);

interface Scenario {
  name: string;
  config: SimulatorConfigInput;
  warmupCalls: number;
  measuredCalls: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'default', config: {}, warmupCalls: 200_000, measuredCalls: 500_000 },
  {
    name: 'realtime_50k',
    config: { arrival: { callsPerSecond: 50_000 }, timing: { pageGapMs: 1_000, sessionGapMs: 10_000 } },
    warmupCalls: 600_000,
    measuredCalls: 500_000,
  },
];

function generate(sim: Simulator, calls: number, serialise: boolean): number {
  const started = performance.now();
  let bytes = 0;
  for (let done = 0; done < calls; done += BATCH) {
    const batch = sim.next(BATCH);
    if (serialise) bytes += JSON.stringify({ batch: batch.map((c) => c.call), sentAt: batch[batch.length - 1]?.call.sentAt }).length;
  }
  const seconds = (performance.now() - started) / 1000;
  if (serialise && bytes === 0) throw new Error('no calls serialised');
  return Math.round(calls / seconds);
}

export async function runSimulatorBench(): Promise<Record<string, number>> {
  const results: Record<string, number> = {};
  for (const scenario of SCENARIOS) {
    const key = `simulator_${scenario.name}`;
    const config = parseSimulatorConfig(scenario.config);
    const created = performance.now();
    const sim = createSimulator(config, { startTime: START });
    results[`${key}_calibration_ms`] = Math.round(performance.now() - created);

    generate(sim, scenario.warmupCalls, false);
    results[`${key}_calls_per_second`] = generate(sim, scenario.measuredCalls, false);
    results[`${key}_calls_per_second_with_json`] = generate(sim, scenario.measuredCalls, true);

    const stats = sim.stats();
    results[`${key}_active_people`] = stats.activePeople;
    results[`${key}_heap_mb`] = Math.round(process.memoryUsage().heapUsed / 1e6);
    results[`${key}_simulated_calls_per_second`] = Math.round(stats.calls.emitted / (stats.elapsedMs / 1000));
  }
  return results;
}

// Run directly: `npx tsx tests/bench/simulator.bench.ts`.
if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await runSimulatorBench());
}
