import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePath } from './channel-path.js';
import { markovAttribution } from './markov.js';

const FIXTURE = join(import.meta.dirname, '../../../tests/fixtures/attribution');

interface Reference {
  version: string;
  totalConversions: number;
  totalNull: number;
  result: Record<string, number>;
  removalEffects: Record<string, number>;
  transitions: { from: string; to: string; probability: number }[];
}

function fixturePaths() {
  const [header, ...lines] = readFileSync(join(FIXTURE, 'paths.csv'), 'utf8').trim().split('\n');
  expect(header).toBe('path,total_conversions,total_null');
  return lines.map((line) => {
    const [path, conversions, nulls] = line.split(',');
    return { channels: parsePath(path!), conversions: Number(conversions), nulls: Number(nulls) };
  });
}

const reference = JSON.parse(readFileSync(join(FIXTURE, 'reference-markov.json'), 'utf8')) as Reference;

describe('Markov attribution', () => {
  it('gives a single-channel world all the credit', () => {
    const r = markovAttribution([{ channels: ['email'], conversions: 3, nulls: 7 }]);
    expect(r.channels).toEqual([{ channel: 'email', removalEffect: 1, conversions: 3, share: 1 }]);
    expect(r.conversionProbability).toBeCloseTo(0.3, 12);
  });

  it('computes removal effects of a hand-solved chain', () => {
    // Journeys: a > b (did not convert), a (converted), b (converted). So start → a 2/3, start → b 1/3;
    // a → b 1/2, a → conversion 1/2; b → conversion 1/2, b → null 1/2.
    const r = markovAttribution([
      { channels: ['a', 'b'], conversions: 0, nulls: 1 },
      { channels: ['a'], conversions: 1, nulls: 0 },
      { channels: ['b'], conversions: 1, nulls: 0 },
    ]);
    // P(conv) = P(a)(1/2 + 1/2·1/2) + P(b)·1/2 = 2/3·3/4 + 1/3·1/2 = 2/3.
    expect(r.conversionProbability).toBeCloseTo(2 / 3, 12);
    // Without a: only start → b converts: 1/3·1/2 = 1/6 → RE_a = 1 − (1/6)/(2/3) = 3/4.
    // Without b: start → a → conv: 2/3·1/2 = 1/3 → RE_b = 1 − (1/3)/(2/3) = 1/2.
    const byName = Object.fromEntries(r.channels.map((c) => [c.channel, c]));
    expect(byName.a!.removalEffect).toBeCloseTo(3 / 4, 12);
    expect(byName.b!.removalEffect).toBeCloseTo(1 / 2, 12);
    // Credit ∝ removal effects, adding up to the 2 observed conversions: 2·(3/4)/(5/4) and 2·(1/2)/(5/4).
    expect(byName.a!.conversions).toBeCloseTo(1.2, 12);
    expect(byName.b!.conversions).toBeCloseTo(0.8, 12);
  });

  it('folds repeats and counts a converting walk only within the step bound', () => {
    // "a > a > b": folded to a → b. The chain a ↔ b loops; with maxSteps 2 a walk a → b → a never converts at a.
    const paths = [
      { channels: ['a', 'a', 'b'], conversions: 1, nulls: 0 },
      { channels: ['b', 'a'], conversions: 0, nulls: 1 },
    ];
    const r = markovAttribution(paths);
    expect(r.maxSteps).toBe(3);
    expect(r.transitions).toContainEqual({ from: 'a', to: 'b', probability: 1 / 2 });
    expect(r.transitions.some((t) => t.from === t.to)).toBe(false);
    // start → a (1/2), → b (1/2); a → b 1/2, a → null 1/2; b → a 1/2, b → conv 1/2.
    // Converting walks within 3 channels: b·conv (1/4), a·b·conv (1/8), b·a·b·conv (1/16).
    expect(r.conversionProbability).toBeCloseTo(1 / 4 + 1 / 8 + 1 / 16, 12);
    const unbounded = markovAttribution(paths, { maxSteps: 200 });
    // Unbounded: from b, x = 1/2 + 1/2·1/2·x → x = 2/3; from a: 1/2·x = 1/3; P = 1/2·(2/3 + 1/3) = 1/2.
    expect(unbounded.conversionProbability).toBeCloseTo(1 / 2, 12);
  });

  it(`matches channelattribution ${reference.version} markov_model(order=1) within 1% per channel on the shared fixture`, () => {
    const r = markovAttribution(fixturePaths());
    expect(r.totalConversions).toBe(reference.totalConversions);
    expect(r.totalNulls).toBe(reference.totalNull);
    expect(r.channels.map((c) => c.channel).sort()).toEqual(Object.keys(reference.result).sort());
    for (const c of r.channels) {
      const expected = reference.result[c.channel]!;
      expect(Math.abs(c.conversions - expected) / expected, `${c.channel}: ${c.conversions} vs ${expected}`).toBeLessThan(0.01);
      const effect = reference.removalEffects[c.channel]!;
      expect(Math.abs(c.removalEffect - effect) / effect, `${c.channel} removal effect`).toBeLessThan(0.01);
    }
    // The transition matrix is not simulated: it must agree to rounding.
    for (const t of reference.transitions) {
      expect(r.transitions.find((x) => x.from === t.from && x.to === t.to)?.probability, `${t.from} → ${t.to}`).toBeCloseTo(t.probability, 9);
    }
    expect(r.transitions).toHaveLength(reference.transitions.length);
  });
});
