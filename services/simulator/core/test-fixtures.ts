import { parseSimulatorConfig, type SimulatorConfig, type SimulatorConfigInput } from './config.js';
import { createSimulator, estimateCallsPerJourney, type SimulatorOptions } from './generator.js';
import type { SimulatedCall } from './segment-call.js';
import type { SimulatorStats } from './stats.js';

/** Shared by the simulator's unit tests (not a test file itself). */

export const START = Date.UTC(2025, 0, 6, 0, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

export const NO_FAULTS = { lateRate: 0, outOfOrderRate: 0, duplicateRate: 0 } as const;

/** A parsed config; delivery faults are off unless the test turns them on. */
export function testConfig(input: SimulatorConfigInput = {}): SimulatorConfig {
  return parseSimulatorConfig({ ...input, delivery: { ...NO_FAULTS, ...input.delivery } });
}

export interface Run {
  calls: SimulatedCall[];
  stats: SimulatorStats;
}

/** Runs a bounded simulation to its end: every admitted journey finishes, every held call is sent. */
export function runJourneys(config: SimulatorConfig, maxJourneys: number, options: Partial<SimulatorOptions> = {}): Run {
  const sim = createSimulator(config, { startTime: START, ...options, maxJourneys });
  const calls: SimulatedCall[] = [];
  while (!sim.done()) for (const c of sim.next(20_000)) calls.push(c);
  return { calls, stats: sim.stats() };
}

/** Runs an unbounded simulation until simulated time `until`. */
export function runUntil(config: SimulatorConfig, until: number): Run {
  const sim = createSimulator(config, { startTime: START });
  const calls = sim.nextUntil(until);
  return { calls, stats: sim.stats() };
}

/** A persona that only differs from the defaults where it says so. */
export function persona(name: string, site: string, transitions: Partial<Record<string, number>> = {}, rest: Record<string, unknown> = {}) {
  return {
    name,
    weight: 1,
    site,
    transitions: {
      awarenessToConsideration: 0.6,
      considerationToPurchase: 0.5,
      purchaseToRetention: 0.6,
      retentionToAdvocacy: 0.5,
      ...transitions,
    },
    ...rest,
  };
}

export const eventOf = (c: SimulatedCall): string => c.call.event ?? c.call.name ?? c.call.type;

/** Calls grouped by anonymousId (server calls of identified people have none and are skipped). */
export function byAnonymousId(calls: readonly SimulatedCall[]): Map<string, SimulatedCall[]> {
  const groups = new Map<string, SimulatedCall[]>();
  for (const c of calls) {
    const id = c.call.anonymousId;
    if (id === undefined) continue;
    let list = groups.get(id);
    if (list === undefined) groups.set(id, (list = []));
    list.push(c);
  }
  return groups;
}

/** Simulated purchases as a refit reads them: purchase-event times by userId, and the newest event time of any kind. */
export interface SimulatedPurchases {
  byCustomer: Map<string, number[]>;
  newest: number;
}

/**
 * `days` of history as `npm run simulate` makes it: `journeys` arriving as a Poisson process over
 * the period from START, cut at its end. Returns the calls of `events` by userId.
 */
export function simulatePurchases(config: SimulatorConfig, journeys: number, days: number, events: readonly string[]): SimulatedPurchases {
  const end = START + days * 86_400_000;
  const callsPerSecond = (journeys * estimateCallsPerJourney(config)) / (days * 86_400);
  const sim = createSimulator({ ...config, arrival: { ...config.arrival, callsPerSecond } }, { startTime: START, maxJourneys: journeys });
  const byCustomer = new Map<string, number[]>();
  let newest = 0;
  for (const { call } of sim.nextUntil(end)) {
    const ts = Date.parse(call.timestamp);
    newest = Math.max(newest, ts);
    if (call.type !== 'track' || !events.includes(call.event!)) continue;
    if (call.userId === undefined) throw new Error(`a purchase without a userId: ${JSON.stringify(call)}`);
    const list = byCustomer.get(call.userId) ?? [];
    list.push(ts);
    byCustomer.set(call.userId, list);
  }
  return { byCustomer, newest };
}
