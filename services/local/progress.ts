import type { Registry } from 'prom-client';
import type { Component } from '../platform/runtime/component.js';

/** Sum of a counter's values over all its labels, from a registry. */
async function counterTotal(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  return data.values.reduce((sum, v) => sum + (typeof v.value === 'number' ? v.value : 0), 0);
}

export interface ProgressSource {
  registry: Registry;
  lag: () => number;
  healthy: () => boolean;
  write: (line: string) => void;
  everyMs: number;
}

/**
 * A line every few seconds, so `npm start` is never a silent wait:
 * events/s accepted by the collector, rows/s written to ClickHouse, consumer lag, health.
 */
export function createProgressReporter(source: ProgressSource): Component {
  let timer: NodeJS.Timeout | undefined;
  let last = { at: Date.now(), accepted: 0, rows: 0 };
  return {
    name: 'progress',
    async start() {
      if (source.everyMs <= 0) return;
      timer = setInterval(async () => {
        const now = Date.now();
        const accepted = await counterTotal(source.registry, 'collector_events_accepted_total');
        const rows = await counterTotal(source.registry, 'writer_rows_inserted_total');
        const secs = Math.max(0.001, (now - last.at) / 1000);
        source.write(
          `[journey] in ${((accepted - last.accepted) / secs).toFixed(0)} ev/s (total ${accepted}) | ` +
            `ClickHouse ${((rows - last.rows) / secs).toFixed(0)} rows/s (total ${rows}) | lag ${source.lag()} | ` +
            `${source.healthy() ? 'healthy' : 'UNHEALTHY (see /healthz)'}`,
        );
        last = { at: now, accepted, rows };
      }, source.everyMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
    },
    health: () => ({ ok: true }),
  };
}
