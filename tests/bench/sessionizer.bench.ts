import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Touchpoint } from '../../schemas/touchpoint.js';
import { SessionizerPartition } from '../../services/sessionizer/core/partition.js';
import { sessionizerConfig, type SessionizerConfig } from '../../services/sessionizer/core/sessions.js';
import { createPrng } from '../support/prng.js';
import { EMPTY_TOUCHPOINT_FIELDS } from '../../schemas/test-touchpoint.js';

/**
 * Sessionizer core benchmark. Three figures, all from one seeded PRNG:
 *
 * - throughput: events/s through SessionizerPartition.process + expire (expire every 1,000 events,
 *   dirty keys drained like the processor does per batch). Traffic: uniform over `customers`, event
 *   time advancing over 6 h (so customers go idle, sessions close and reopen), 10 % of events out of
 *   order by up to the grace period, 1 % redeliveries. Only process/expire/dirtyKeys are timed, in
 *   wall time and in process CPU time (steadier on a shared machine; includes GC threads).
 * - bytes per idle customer: heapUsed after a full GC, before vs after `idleCustomers` customers
 *   with one event each (spread over 10 h of event time, so few are active at once) were processed,
 *   closed by expire and packed idle (one messageId left in the dedup window each). The partition holds the only reference to the key strings, so the figure
 *   includes the key, the Map entry, the packed state and its schedule entry. GC comes from
 *   global.gc (node --expose-gc) or, failing that, is exposed at runtime through v8 flags.
 * - snapshot + restore: time to snapshot every idle customer and restore it into a fresh partition,
 *   scaled to per million customers, plus the mean snapshot size.
 */

const MIN = 60_000;
const T0 = Date.UTC(2025, 0, 1);


function fullGc(): (() => void) | null {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
}

const EVENTS = ['page_view', 'product_view', 'add_to_cart', 'order_completed'];
const CHANNELS = ['web', 'mobile', 'email', 'ads'] as const;

function touchpoint(messageId: string, anonymousId: string, timestamp: number, i: number): Touchpoint {
  return {
    ...EMPTY_TOUCHPOINT_FIELDS,
    messageId,
    type: 'track',
    event: EVENTS[i % EVENTS.length]!,
    anonymousId,
    source: 'bench',
    site: 'shop',
    channel: CHANNELS[i % CHANNELS.length]!,
    timestamp,
    receivedAt: timestamp,
    url: `/p/${i % 97}`,
    deviceType: 'desktop',
  };
}

function benchConfig(): SessionizerConfig {
  return sessionizerConfig((tp) => (tp.event === 'order_completed' ? 'purchase' : tp.event === 'product_view' ? 'consideration' : null));
}

function throughput(events: number, customers: number, random: () => number): Record<string, number> {
  const config = benchConfig();
  const p = new SessionizerPartition(config);
  const span = 6 * 60 * MIN;
  const batch = 1_000;
  const ring: Touchpoint[] = [];
  let records = 0;
  let elapsed = 0;
  let cpuMicros = 0;
  for (let start = 0; start < events; start += batch) {
    const tps: Array<[Touchpoint, string]> = [];
    for (let i = start; i < Math.min(events, start + batch); i++) {
      if (ring.length > 0 && random() < 0.01) {
        const again = ring[Math.floor(random() * ring.length)]!;
        tps.push([again, `a:${again.anonymousId}`]);
        continue;
      }
      const c = Math.floor(random() * customers);
      const now = T0 + Math.floor((i / events) * span);
      const t = random() < 0.1 ? now - Math.floor(random() * config.graceMs) : now;
      const tp = touchpoint(`m-${i}`, `anon-${c}`, t, i);
      if (ring.length < 1_000) ring.push(tp);
      else ring[i % 1_000] = tp;
      tps.push([tp, `a:anon-${c}`]);
    }
    const began = performance.now();
    const cpu = process.cpuUsage();
    for (const [tp, customerId] of tps) records += p.process(tp, customerId).sessions.length;
    records += p.expire().length;
    p.dirtyKeys();
    const used = process.cpuUsage(cpu);
    cpuMicros += used.user + used.system;
    elapsed += performance.now() - began;
  }
  const stats = p.stats();
  return {
    events,
    customers,
    eventsPerSecond: Math.round(events / (elapsed / 1_000)),
    eventsPerCpuSecond: Math.round(events / (cpuMicros / 1e6)),
    recordsPerEvent: Number((records / events).toFixed(3)),
    openSessionsAtEnd: stats.openSessions,
    duplicates: stats.duplicates,
    lateEvents: stats.lateEvents,
  };
}

function idleMemoryAndChangelog(idleCustomers: number): Record<string, number> {
  const gc = fullGc();
  const config = benchConfig();
  const customerId = (i: number): string => `a:anon-${i.toString(36).padStart(8, '0')}`;
  gc?.();
  const baseline = process.memoryUsage().heapUsed;
  const p = new SessionizerPartition(config);
  for (let i = 0; i < idleCustomers; i++) {
    const t = T0 + Math.floor((i / idleCustomers) * 600 * MIN);
    p.process(touchpoint(`m-${i}`, customerId(i).slice(2), t, i), customerId(i));
    if (i % 10_000 === 9_999) {
      p.expire();
      p.dirtyKeys();
    }
  }
  p.advanceWatermark(p.watermark + config.inactivityGapMs + config.graceMs + 1);
  p.expire();
  p.dirtyKeys();
  gc?.();
  const used = process.memoryUsage().heapUsed - baseline;
  const idle = p.stats().idleCustomers;

  const restored = new SessionizerPartition(config);
  let bytes = 0;
  let snapshotMs = 0;
  let restoreMs = 0;
  const chunk = 50_000;
  for (let start = 0; start < idleCustomers; start += chunk) {
    const end = Math.min(idleCustomers, start + chunk);
    const values: Array<Uint8Array | null> = [];
    let began = performance.now();
    for (let i = start; i < end; i++) values.push(p.snapshot(customerId(i)));
    snapshotMs += performance.now() - began;
    began = performance.now();
    for (let i = start; i < end; i++) restored.restore(customerId(i), values[i - start]!);
    restoreMs += performance.now() - began;
    for (const v of values) bytes += v?.length ?? 0;
  }
  const perMillion = 1_000_000 / idleCustomers;
  return {
    idleCustomers: idle,
    bytesPerIdleCustomer: gc ? Math.round(used / idle) : Number.NaN,
    snapshotMsPerMillion: Math.round(snapshotMs * perMillion),
    restoreMsPerMillion: Math.round(restoreMs * perMillion),
    snapshotBytesPerIdleCustomer: Number((bytes / idleCustomers).toFixed(1)),
    restoredCustomers: restored.stats().customers,
  };
}

export async function runSessionizerBench(
  opts: { events?: number; customers?: number; idleCustomers?: number; seed?: number } = {},
): Promise<Record<string, number>> {
  const random = createPrng(opts.seed ?? 42);
  const flow = throughput(opts.events ?? 1_000_000, opts.customers ?? 100_000, random);
  const idle = idleMemoryAndChangelog(opts.idleCustomers ?? 1_000_000);
  return { ...flow, ...idle };
}
