import { beforeAll, describe, expect, it } from 'vitest';
import type { SimulatedCall } from './segment-call.js';
import { MINUTE, runJourneys, testConfig, type Run } from './test-fixtures.js';

const RATES = { duplicateRate: 0.05, lateRate: 0.03, outOfOrderRate: 0.06 };
const LATE = { min: 5 * MINUTE, max: 30 * MINUTE };
const WINDOW_MS = 8_000;

describe('delivery faults', () => {
  let run: Run;
  let originals: SimulatedCall[];
  let duplicates: SimulatedCall[];

  beforeAll(() => {
    const config = testConfig({
      delivery: { ...RATES, lateDelayMs: LATE, outOfOrderWindowMs: WINDOW_MS, duplicateDelayMs: { min: 200, max: 5_000 } },
    });
    run = runJourneys(config, 12_000);
    const seen = new Set<string>();
    originals = [];
    duplicates = [];
    for (const c of run.calls) {
      if (seen.has(c.call.messageId)) duplicates.push(c);
      else {
        seen.add(c.call.messageId);
        originals.push(c);
      }
    }
  }, 120_000);

  it('resends the configured share of calls with the same messageId and payload', () => {
    expect(originals.length).toBeGreaterThan(100_000);
    expect(duplicates.length / originals.length).toBeCloseTo(RATES.duplicateRate, 2);
    expect(duplicates.length).toBe(run.stats.duplicates);
    const firstById = new Map(originals.map((c) => [c.call.messageId, c]));
    for (const d of duplicates.slice(0, 500)) {
      const first = firstById.get(d.call.messageId)!;
      expect({ ...d.call, sentAt: '' }).toEqual({ ...first.call, sentAt: '' });
      expect(d.sendAt).toBeGreaterThan(first.sendAt);
    }
  });

  it('sends the configured share of calls late, far behind their timestamp', () => {
    const late = originals.filter((c) => c.sendAt - c.at >= LATE.min);
    expect(late.length / originals.length).toBeCloseTo(RATES.lateRate, 2);
    expect(late.length).toBe(run.stats.late);
    expect(late.every((c) => c.sendAt - c.at <= LATE.max)).toBe(true);
  });

  it('holds back the configured share of calls a little, so they arrive after later calls', () => {
    const held = originals.filter((c) => c.sendAt > c.at && c.sendAt - c.at <= WINDOW_MS);
    expect(held.length / originals.length).toBeCloseTo(RATES.outOfOrderRate, 2);
    expect(held.length).toBe(run.stats.outOfOrder);
    // In the stream, each held call comes after calls that happened later than it did.
    let latest = 0;
    let inversions = 0;
    for (const c of run.calls) {
      if (c.at < latest) inversions++;
      latest = Math.max(latest, c.at);
    }
    expect(inversions).toBeGreaterThan(0.9 * (held.length + run.stats.late));
  });

  it('sends everything on time, once and in timestamp order when faults are off', () => {
    const { calls } = runJourneys(testConfig(), 500);
    let previous = 0;
    for (const c of calls) {
      expect(c.sendAt).toBe(c.at);
      expect(c.call.sentAt).toBe(c.call.timestamp);
      expect(c.at).toBeGreaterThanOrEqual(previous);
      previous = c.at;
    }
    expect(new Set(calls.map((c) => c.call.messageId)).size).toBe(calls.length);
  });
});
