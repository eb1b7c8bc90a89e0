import type { SimulatorConfig } from './config.js';
import { Engine } from './engine.js';
import { prepareRuntime, type Runtime } from './runtime.js';
import type { SimulatedCall } from './segment-call.js';
import type { SimulatorStats } from './stats.js';

export interface SimulatorOptions {
  /** Simulated epoch ms of the first arrival; incident `at`s are relative to it. */
  startTime: number;
  /** Admit at most this many new journeys; the stream then ends once they (and their referrals) finish. */
  maxJourneys?: number;
  /**
   * messageIds are this prefix plus a counter (default `m-<seed>-`). A run that replays a seed into
   * a pipeline that has seen it before needs its own prefix: the same ids would be dropped as retries.
   */
  messageIdPrefix?: string;
}

export interface Simulator {
  /** The next `n` calls in send-time order (fewer only when a bounded run has ended). */
  next(n: number): SimulatedCall[];
  /** Calls sent up to and including simulated time `time` (at most `max`): for real-time pacing. */
  nextUntil(time: number, max?: number): SimulatedCall[];
  /** Simulated time (epoch ms) of the last call returned. */
  now(): number;
  /** True once a bounded run (maxJourneys) has returned its last call. */
  done(): boolean;
  stats(): SimulatorStats;
  /** Arrival rate of new journeys derived from arrival.callsPerSecond (see estimateCallsPerJourney). */
  readonly journeysPerSecond: number;
  readonly callsPerJourney: number;
}

/** How many journeys the calibration run simulates. */
const CALIBRATION_JOURNEYS = 2000;

/**
 * Mean calls per new journey (its referrals, committee members, duplicates included), measured
 * by a quick deterministic pilot run on another seed: arrival.callsPerSecond / this = journeys/s.
 * In steady state the call rate then matches the target; it ramps up over the first journeys'
 * lifetime (a few visit gaps) because the simulation starts empty.
 */
export function estimateCallsPerJourney(config: SimulatorConfig, runtime: Runtime = prepareRuntime(config)): number {
  const known = calibrated.get(config);
  if (known !== undefined) return known;
  const pilotConfig: SimulatorConfig = { ...config, seed: (config.seed ^ 0x9e3779b9) >>> 0, incidents: [] };
  const engine = new Engine(runtime, pilotConfig, { startTime: 0, journeysPerSecond: 1000, maxJourneys: CALIBRATION_JOURNEYS });
  const buffer: SimulatedCall[] = [];
  let calls = 0;
  while (engine.fill(buffer, 10_000, Number.POSITIVE_INFINITY) || buffer.length > 0) {
    calls += buffer.length;
    buffer.length = 0;
  }
  const estimate = Math.max(1, calls / CALIBRATION_JOURNEYS);
  calibrated.set(config, estimate);
  return estimate;
}

/** Calibration is pure, so simulators made from the same (parsed, unmodified) config object share it. */
const calibrated = new WeakMap<SimulatorConfig, number>();

/**
 * A deterministic traffic generator: same config (seed included) and options ⇒ the same calls,
 * byte for byte. Pure: no clock, no I/O; the caller decides when to send what it returns.
 */
export function createSimulator(config: SimulatorConfig, options: SimulatorOptions): Simulator {
  const runtime = prepareRuntime(config);
  const callsPerJourney = estimateCallsPerJourney(config, runtime);
  const journeysPerSecond = config.arrival.callsPerSecond / callsPerJourney;
  const engine = new Engine(runtime, config, {
    startTime: options.startTime,
    journeysPerSecond,
    maxJourneys: options.maxJourneys ?? Number.POSITIVE_INFINITY,
    messageIdPrefix: options.messageIdPrefix,
  });
  let lastSendAt = options.startTime;
  let ended = false;

  const take = (max: number, until: number): SimulatedCall[] => {
    const out: SimulatedCall[] = [];
    if (ended || max <= 0) return out;
    ended = !engine.fill(out, max, until);
    const last = out[out.length - 1];
    if (last !== undefined) lastSendAt = last.sendAt;
    return out;
  };

  return {
    next: (n) => take(n, Number.POSITIVE_INFINITY),
    nextUntil: (time, max = Number.POSITIVE_INFINITY) => take(max, time),
    now: () => lastSendAt,
    done: () => ended,
    stats: () => ({ ...engine.snapshotStats(), elapsedMs: lastSendAt - options.startTime }),
    journeysPerSecond,
    callsPerJourney,
  };
}
