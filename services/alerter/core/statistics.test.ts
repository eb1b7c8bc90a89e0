import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { logGamma } from '../../platform/math/log-gamma.js';
import {
  countDropZ,
  decayForHalfLife,
  ewmaAdd,
  ewmaMeanAdd,
  ewmaMeanValue,
  ewmaPerWindow,
  ewmaRate,
  normalCdf,
  normalQuantile,
  normalUpperTail,
  poissonDropZ,
  poissonLowerTail,
  scoreDropZ,
  twoProportionDropZ,
  wilsonInterval,
  type EwmaCounts,
} from './statistics.js';

const relativeError = (actual: number, expected: number) => Math.abs(actual - expected) / Math.abs(expected);

describe('normal distribution', () => {
  it('matches tabulated CDF values', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959963985)).toBeCloseTo(0.975, 7);
    expect(normalCdf(-1)).toBeCloseTo(0.158655254, 7);
    expect(normalCdf(2.5)).toBeCloseTo(0.993790335, 7);
  });

  it('keeps relative precision far into the upper tail', () => {
    expect(relativeError(normalUpperTail(4), 3.16712418e-5)).toBeLessThan(1e-6);
    expect(relativeError(normalUpperTail(6), 9.86587645e-10)).toBeLessThan(1e-6);
    expect(relativeError(normalUpperTail(3.5), 2.32629079e-4)).toBeLessThan(1e-6);
  });

  it('inverts the CDF', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963985, 6);
    expect(normalQuantile(1e-6)).toBeCloseTo(-4.753424309, 5);
    fc.assert(
      fc.property(fc.double({ min: 1e-12, max: 1 - 1e-12, noNaN: true }), (p) => {
        expect(relativeError(normalCdf(normalQuantile(p)), p)).toBeLessThan(1e-6);
      }),
    );
  });
});

describe('Wilson score interval', () => {
  it('matches the textbook example of 8 successes in 10 at 95%', () => {
    const { lower, upper } = wilsonInterval(8, 10, 1.959964);
    expect(lower).toBeCloseTo(0.4902, 4);
    expect(upper).toBeCloseTo(0.9433, 4);
  });

  it('stays inside [0, 1] at the edges where the Wald interval collapses', () => {
    const none = wilsonInterval(0, 10, 1.959964);
    expect(none.lower).toBe(0);
    expect(none.upper).toBeCloseTo(0.2775, 4);
    expect(wilsonInterval(10, 10, 1.959964).upper).toBeCloseTo(1, 12);
  });

  it('contains the observed rate and its upper bound is below p0 exactly when the score statistic exceeds z', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0.01, max: 0.99, noNaN: true }),
        fc.double({ min: 0.5, max: 6, noNaN: true }),
        (trials, fraction, p0, z) => {
          const successes = Math.round(fraction * trials);
          const { lower, upper } = wilsonInterval(successes, trials, z);
          expect(lower).toBeLessThanOrEqual(successes / trials + 1e-12);
          expect(upper).toBeGreaterThanOrEqual(successes / trials - 1e-12);
          const score = scoreDropZ(successes, trials, p0);
          fc.pre(Math.abs(score - z) > 1e-6);
          expect(upper < p0).toBe(score > z);
        },
      ),
    );
  });
});

describe('two-proportion z test (pooled)', () => {
  it('matches a hand-computed value and is positive when the observed rate is lower', () => {
    // pooled p = 0.11, se = sqrt(0.11 · 0.89 · 2/1000) = 0.0139929
    expect(twoProportionDropZ({ successes: 100, trials: 1000 }, { successes: 120, trials: 1000 })).toBeCloseTo(1.42929, 4);
    expect(twoProportionDropZ({ successes: 120, trials: 1000 }, { successes: 100, trials: 1000 })).toBeCloseTo(-1.42929, 4);
  });

  it('shrinks by the square root of the variance inflation', () => {
    const plain = twoProportionDropZ({ successes: 50, trials: 1000 }, { successes: 1000, trials: 10_000 });
    expect(twoProportionDropZ({ successes: 50, trials: 1000 }, { successes: 1000, trials: 10_000 }, 4)).toBeCloseTo(plain / 2, 10);
  });

  it('returns 0 rather than NaN when there is nothing to compare', () => {
    expect(twoProportionDropZ({ successes: 0, trials: 0 }, { successes: 10, trials: 100 })).toBe(0);
    expect(twoProportionDropZ({ successes: 0, trials: 100 }, { successes: 0, trials: 100 })).toBe(0);
  });
});

describe('count (volume) tests', () => {
  it('computes exact Poisson tails', () => {
    expect(poissonLowerTail(2, 1)).toBeCloseTo(Math.exp(-1) * 2.5, 10);
    expect(poissonLowerTail(0, 3)).toBeCloseTo(Math.exp(-3), 12);
    expect(poissonLowerTail(100, 100)).toBeCloseTo(0.526562, 5);
    expect(poissonLowerTail(-1, 5)).toBe(0);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
  });

  it('the square-root z agrees with the exact Poisson tail near alerting thresholds', () => {
    for (const [observed, expected] of [
      [320, 400],
      [80, 100],
      [50, 100],
      [9000, 10_000],
    ] as const) {
      expect(relativeError(countDropZ(observed, expected), poissonDropZ(observed, expected))).toBeLessThan(0.08);
    }
  });

  it('reports zero events against a busy baseline as a huge drop and adds the baseline uncertainty', () => {
    expect(countDropZ(0, 400)).toBeCloseTo(40, 10);
    expect(countDropZ(0, 400, 1)).toBeCloseTo(40 / Math.SQRT2, 10);
    expect(countDropZ(400, 400)).toBe(0);
  });
});

describe('EWMA baseline', () => {
  it('halves a window’s weight every half-life', () => {
    expect(decayForHalfLife(1)).toBe(0.5);
    expect(Math.pow(decayForHalfLife(24), 24)).toBeCloseTo(0.5, 12);
  });

  it('keeps successes and trials so the baseline has an effective sample size', () => {
    let e: EwmaCounts | null = null;
    e = ewmaAdd(e, { successes: 10, trials: 100 }, 1);
    e = ewmaAdd(e, { successes: 30, trials: 100 }, 1);
    expect(e).toEqual({ successes: 35, trials: 150, windows: 1.5 });
    expect(ewmaRate(e)).toBeCloseTo(35 / 150, 12);
    expect(ewmaPerWindow(e)).toBe(100);
  });

  it('converges to trials / (1 − decay) effective trials on steady traffic', () => {
    let e: EwmaCounts | null = null;
    for (let i = 0; i < 2000; i++) e = ewmaAdd(e, { successes: 100, trials: 1000 }, 24);
    expect(e!.trials).toBeCloseTo(1000 / (1 - decayForHalfLife(24)), 6);
    expect(ewmaRate(e!)).toBeCloseTo(0.1, 12);
  });

  it('keeps a prior in the EWMA mean until data outweighs it', () => {
    const m = ewmaMeanAdd({ sum: 8, weight: 8 }, 3, 1);
    expect(ewmaMeanValue(m)).toBeCloseTo(7 / 5, 12);
  });
});
