import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // Linux USER_HZ

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/**
 * CPU seconds of a process's main thread and of all its other threads (V8's GC and compiler
 * helpers, libuv's pool, a loader worker; Node names them all `node`): what a CPU profile of the
 * main thread does not show. Only threads still alive count.
 */
export function threadCpuSeconds(pid: number): { main: number; other: number } {
  const out = { main: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[tid === String(pid) ? 'main' : 'other'] += (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** Peak resident memory (VmHWM) of a process, in MB. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** CPU seconds of a process, or NaN when it is gone (a crashed service must not hide the other figures). */
export function cpuSecondsOrNaN(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    return cpuSeconds(pid);
  } catch {
    return NaN;
  }
}

/**
 * The pid of the local broker serving `port` (infra/kafka/broker.sh: `kafka.Kafka
 * <DATA_DIR>/kafka-<port>/server.properties`), whichever DATA_DIR started it; undefined when none
 * runs on this machine (a remote or containerised broker).
 */
export function brokerPid(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes('kafka.Kafka') && cmdline.includes(`kafka-${port}/server.properties`)) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

/** p50/p90/p99/max and the count of a list of durations (ms); nulls when empty. */
export function distribution(values: number[]): { p50: number | null; p90: number | null; p99: number | null; max: number | null; samples: number } {
  const sorted = [...values].sort((x, y) => x - y);
  const at = (p: number) => (sorted.length === 0 ? null : Math.round(percentile(sorted, p)));
  return { p50: at(50), p90: at(90), p99: at(99), max: sorted.length === 0 ? null : Math.round(sorted[sorted.length - 1]!), samples: sorted.length };
}
