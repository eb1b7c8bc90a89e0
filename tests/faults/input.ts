import { collectEvents } from '../../services/platform/segment/collect.js';
import type { SourceConfig } from '../../services/platform/segment/source-config.js';
import { parseSimulatorConfig } from '../../services/simulator/core/config.js';
import { createSimulator } from '../../services/simulator/core/generator.js';
import type { Touchpoint } from '../../schemas/touchpoint.js';

/**
 * A known, reproducible set of touchpoints: the simulator's calls converted exactly as the collector
 * converts them, but with receivedAt = the simulated send time, so two runs get identical input
 * (the collector would stamp the wall clock). Generated in chunks to keep memory flat.
 */
export function* knownTouchpoints(options: {
  seed: number;
  count: number;
  startTime: number;
  sources: SourceConfig[];
  chunk?: number;
  /** Simulator settings over the defaults (a config file's content); the arrival rate defaults to 500 calls/s. */
  overlay?: Record<string, unknown>;
}): Generator<Touchpoint[]> {
  const overlay = options.overlay ?? {};
  const arrival = { callsPerSecond: 500, ...((overlay.arrival as object | undefined) ?? {}) };
  const sim = createSimulator(parseSimulatorConfig({ ...overlay, seed: options.seed, arrival }), { startTime: options.startTime });
  const byKey = new Map(options.sources.map((s) => [s.writeKey, s]));
  let produced = 0;
  let n = 0;
  while (produced < options.count) {
    const calls = sim.next(Math.min(options.chunk ?? 5_000, options.count - produced));
    if (calls.length === 0) return;
    const out: Touchpoint[] = [];
    for (const c of calls) {
      const source = byKey.get(c.writeKey);
      if (!source) continue;
      const result = collectEvents({ events: [c.call], source, receivedAt: c.sendAt, newMessageId: () => `gen-${n++}` });
      out.push(...result.touchpoints);
    }
    produced += calls.length;
    yield out;
  }
}
