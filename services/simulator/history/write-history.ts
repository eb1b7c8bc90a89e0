import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { SimulatorConfig } from '../core/config.js';
import { createSimulator } from '../core/generator.js';
import type { SimulatorStats } from '../core/stats.js';

export interface HistoryOptions {
  days: number;
  /**
   * New journeys (people) expected to arrive over the period, as a Poisson process: the count
   * varies by about its square root, and arrivals go on until `endTime`.
   */
  customers: number;
  /** The period ends here (epoch ms), e.g. now: the history leads up to live traffic. */
  endTime: number;
  out: string;
}

export interface HistorySummary {
  startTime: number;
  endTime: number;
  calls: number;
  file: string;
  stats: SimulatorStats;
}

/**
 * Writes `days` of simulated history ending at `endTime` as Segment JSON lines (gzip when `out` ends
 * in .gz), in send order: late, out-of-order and duplicate calls appear where a live stream would
 * have delivered them. Each line carries its `writeKey` (the Segment HTTP API allows it in the body),
 * so one file holds every source. Same config and seed, same file.
 */
export async function writeHistory(config: SimulatorConfig, o: HistoryOptions): Promise<HistorySummary> {
  const startTime = o.endTime - o.days * 86_400_000;
  // The arrival rate is set in calls per second: derive it from the calls a journey makes.
  const probe = createSimulator(config, { startTime });
  const callsPerSecond = (o.customers * probe.callsPerJourney) / (o.days * 86_400);
  // Not capped at `customers`: a cap reached before the end (about one run in two) stopped every
  // arrival for the rest of the period, e.g. the last 11 hours of a 90-day history, a traffic
  // drop that the alert replay then rightly flagged.
  const simulator = createSimulator({ ...config, arrival: { ...config.arrival, callsPerSecond } }, { startTime });
  const file = createWriteStream(o.out);
  const sink: Writable = o.out.endsWith('.gz') ? createGzip() : file;
  if (sink !== file) sink.pipe(file);
  let calls = 0;
  for (;;) {
    const batch = simulator.nextUntil(o.endTime, 10_000);
    if (batch.length === 0) break;
    let text = '';
    for (const c of batch) text += `${JSON.stringify({ ...c.call, writeKey: c.writeKey })}\n`;
    calls += batch.length;
    if (!sink.write(text)) await once(sink, 'drain');
  }
  sink.end();
  await once(file, 'close');
  return { startTime, endTime: o.endTime, calls, file: o.out, stats: simulator.stats() };
}
