import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng, WeightedTable } from './random.js';

const draws = (rng: Rng, n: number, f: (r: Rng) => number) => Array.from({ length: n }, () => f(rng));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: number[]) => {
  const m = mean(xs);
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
};

describe('Rng', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const a = draws(new Rng(7), 100, (r) => r.nextUint32());
    expect(draws(new Rng(7), 100, (r) => r.nextUint32())).toEqual(a);
    expect(draws(new Rng(8), 100, (r) => r.nextUint32())).not.toEqual(a);
  });

  it('numbers streams so that neighbouring streams are unrelated and reproducible', () => {
    const s1 = draws(Rng.stream(42, 1), 50, (r) => r.nextUint32());
    expect(draws(Rng.stream(42, 1), 50, (r) => r.nextUint32())).toEqual(s1);
    expect(draws(Rng.stream(42, 2), 50, (r) => r.nextUint32())).not.toEqual(s1);
    expect(draws(Rng.stream(43, 1), 50, (r) => r.nextUint32())).not.toEqual(s1);
  });

  it('forks a labelled stream without advancing the parent', () => {
    const parent = new Rng(3);
    const before = new Rng(3).next();
    const child = parent.fork('delivery');
    expect(parent.next()).toBe(before);
    expect(child.next()).not.toBe(before);
  });

  it('draws uniforms in [0, 1) and integers within inclusive bounds, for any seed', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 20 }), (seed, lo, span) => {
        const rng = new Rng(seed);
        for (let i = 0; i < 50; i++) {
          const u = rng.next();
          expect(u).toBeGreaterThanOrEqual(0);
          expect(u).toBeLessThan(1);
          const k = rng.int(lo, lo + span);
          expect(Number.isInteger(k)).toBe(true);
          expect(k).toBeGreaterThanOrEqual(lo);
          expect(k).toBeLessThanOrEqual(lo + span);
        }
      }),
    );
  });

  it('has the configured means and spreads (uniform, exponential, normal, poisson)', () => {
    const rng = new Rng(11);
    const n = 50_000;
    expect(mean(draws(rng, n, (r) => r.next()))).toBeCloseTo(0.5, 2);
    expect(mean(draws(rng, n, (r) => r.exponential(20)))).toBeGreaterThan(19.5);
    expect(mean(draws(rng, n, (r) => r.exponential(20)))).toBeLessThan(20.5);
    const normals = draws(rng, n, (r) => r.normal(10, 3));
    expect(mean(normals)).toBeCloseTo(10, 1);
    expect(Math.sqrt(variance(normals))).toBeCloseTo(3, 1);
    for (const m of [0.5, 4, 50]) {
      const ps = draws(rng, n, (r) => r.poisson(m));
      expect(ps.every((x) => Number.isInteger(x) && x >= 0)).toBe(true);
      expect(Math.abs(mean(ps) - m)).toBeLessThan(0.05 * m + 0.02);
      expect(Math.abs(variance(ps) - m)).toBeLessThan(0.1 * m + 0.05);
    }
  });

  it('draws gamma and beta variates with their means and variances, for shapes below and above 1', () => {
    const rng = new Rng(12);
    const n = 100_000;
    // Gamma(k, θ): mean kθ, variance kθ²; 4 standard errors of the sample mean as the tolerance.
    for (const [shape, scale] of [[0.25, 0.5], [0.75, 2], [3, 0.1]] as const) {
      const g = draws(rng, n, (r) => r.gamma(shape, scale));
      expect(g.every((x) => x >= 0 && Number.isFinite(x))).toBe(true);
      const sd = Math.sqrt(shape) * scale;
      expect(Math.abs(mean(g) - shape * scale)).toBeLessThan((4 * sd) / Math.sqrt(n));
      expect(Math.abs(variance(g) / (shape * scale * scale) - 1)).toBeLessThan(0.05);
    }
    // Beta(a, b): mean a / (a + b), variance ab / ((a + b)²(a + b + 1)).
    for (const [a, b] of [[0.8, 2.5], [2, 5]] as const) {
      const p = draws(rng, n, (r) => r.beta(a, b));
      expect(p.every((x) => x >= 0 && x <= 1)).toBe(true);
      const m = a / (a + b);
      const v = (a * b) / ((a + b) ** 2 * (a + b + 1));
      expect(Math.abs(mean(p) - m)).toBeLessThan((4 * Math.sqrt(v)) / Math.sqrt(n));
      expect(Math.abs(variance(p) / v - 1)).toBeLessThan(0.05);
    }
    expect(() => rng.gamma(0)).toThrow(RangeError);
  });

  it('refuses to pick from an empty list', () => {
    expect(() => new Rng(1).pick([])).toThrow(RangeError);
  });
});

describe('WeightedTable', () => {
  it('picks values in proportion to their weights and never a zero weight', () => {
    const table = new WeightedTable([
      ['a', 1],
      ['never', 0],
      ['b', 3],
      ['c', 6],
    ] as const);
    const rng = new Rng(5);
    const counts: Record<string, number> = { a: 0, b: 0, c: 0, never: 0 };
    const n = 100_000;
    for (let i = 0; i < n; i++) counts[table.pick(rng)]!++;
    expect(counts.never).toBe(0);
    expect(counts.a! / n).toBeCloseTo(0.1, 2);
    expect(counts.b! / n).toBeCloseTo(0.3, 2);
    expect(counts.c! / n).toBeCloseTo(0.6, 2);
    expect(table.probabilities()).toEqual([0.1, 0, 0.3, 0.6]);
  });

  it('rejects negative, non-finite and all-zero weights', () => {
    expect(() => new WeightedTable([['a', -1]])).toThrow(RangeError);
    expect(() => new WeightedTable([['a', Number.NaN]])).toThrow(RangeError);
    expect(() => new WeightedTable([['a', 0], ['b', 0]])).toThrow(RangeError);
  });

  it('numbers indices from a given start', () => {
    const table = WeightedTable.ofIndices([0, 1], 1);
    expect(table.pick(new Rng(1))).toBe(2);
  });
});
