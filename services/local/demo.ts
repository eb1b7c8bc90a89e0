import { createSimulator } from '../simulator/core/generator.js';
import { parseSimulatorConfig } from '../simulator/core/config.js';
import { createPacer } from '../simulator/pacer.js';
import { createHttpSender } from '../simulator/senders/http-sender.js';
import type { Logger } from '../platform/logging/logger.js';
import type { Component } from '../platform/runtime/component.js';

/** Demo traffic for `npm start`: the simulator in real time through the collector's HTTP API. */
export function createDemoTraffic(options: { enabled: boolean; rate: number; seed: number; collectorUrl: () => string; logger: Logger }): Component {
  if (!options.enabled) return { name: 'demo-traffic', start: async () => {}, stop: async () => {}, health: () => ({ ok: true, details: { enabled: false } }) };
  // Journeys compressed in time (3 s between page views, 1 min between visits) so the dashboard
  // shows purchases, retention and advocacy within minutes of `npm start`, not days.
  const config = parseSimulatorConfig({ seed: options.seed, arrival: { callsPerSecond: options.rate }, timing: { pageGapMs: 3_000, sessionGapMs: 60_000 } });
  // The same seed brings the same people back on every `npm start`, but their calls are new: a
  // messageId the pipeline saw in an earlier run would be dropped as an SDK retry.
  const startTime = Date.now();
  const simulator = createSimulator(config, { startTime, messageIdPrefix: `m-${options.seed}-${startTime.toString(36)}-` });
  const sender = createHttpSender({ collectorUrl: options.collectorUrl, batchSize: 100, concurrency: 4, maxRetries: 50 });
  return createPacer({ simulator, sender, mode: 'realtime', tickMs: 250, chunk: 500, logger: options.logger });
}
