import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bgnbdLogLikelihood, bgnbdTotalLogLikelihood, expectedPurchases, fitBgNbd, hypergeometric2F1, pAlive, type BgNbdParams } from './bgnbd.js';
import { parseCdnowSummary } from './cdnow.js';
import { logGamma } from '../../../platform/math/log-gamma.js';

const cdnow = parseCdnowSummary(readFileSync(new URL('../../../../tests/fixtures/cdnow_customers_summary.csv', import.meta.url), 'utf8'));
/** Fader, Hardie & Lee (2005), table 1. */
const PAPER: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const PAPER_LL = -9582.4;
const within = (actual: number, expected: number, rel: number) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.abs(expected) * rel);

describe('BG/NBD on CDNOW', () => {
  it('reads all 2,357 customers of the sample', () => {
    expect(cdnow).toHaveLength(2357);
    expect(cdnow.filter((o) => o.x === 0)).toHaveLength(1411);
  });

  it('has the published log-likelihood at the published estimates', () => {
    within(bgnbdTotalLogLikelihood(PAPER, cdnow), PAPER_LL, 1e-4);
  });

  it('reproduces the published estimates and log-likelihood within 1%', () => {
    const fit = fitBgNbd(cdnow);
    expect(fit.converged).toBe(true);
    within(fit.params.r, PAPER.r, 0.01);
    within(fit.params.alpha, PAPER.alpha, 0.01);
    within(fit.params.a, PAPER.a, 0.01);
    within(fit.params.b, PAPER.b, 0.01);
    within(fit.logLikelihood, PAPER_LL, 0.01);
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(bgnbdTotalLogLikelihood(PAPER, cdnow) - 1e-6);
    expect(fit.customers).toBe(2357);
  });

  it('has the standard errors lifetimes publishes for CDNOW (observed information), within 0.5%', () => {
    // lifetimes' BetaGeoFitter on the same 2,357 customers: se(r) 0.012557, se(α) 0.378221, se(a) 0.185719, se(b) 0.705345.
    const se = fitBgNbd(cdnow).standardErrors;
    expect(se).not.toBeNull();
    within(se!.r, 0.012557, 0.005);
    within(se!.alpha, 0.378221, 0.005);
    within(se!.a, 0.185719, 0.005);
    within(se!.b, 0.705345, 0.005);
  });

  it('has no standard errors when the data cannot pin the parameters down', () => {
    // Nobody ever bought again: the drop-out parameters a and b have no information at all.
    const fit = fitBgNbd(Array.from({ length: 50 }, (_, i) => ({ x: 0, tx: 0, T: 10 + i })));
    expect(fit.standardErrors).toBeNull();
  });

  it('finds the same optimum from a different start', () => {
    const fit = fitBgNbd(cdnow, { r: 2, alpha: 20, a: 3, b: 0.5 });
    within(fit.params.r, PAPER.r, 0.01);
    within(fit.params.b, PAPER.b, 0.01);
  });

  it('rejects impossible observations', () => {
    expect(() => fitBgNbd([{ x: 1, tx: 5, T: 3 }])).toThrow(/observation 0 is invalid/);
    expect(() => fitBgNbd([])).toThrow(RangeError);
  });
});

describe('pAlive', () => {
  it('is 1 for a customer with no repeat purchase, however long ago', () => {
    expect(pAlive(PAPER, 0, 0, 1)).toBe(1);
    expect(pAlive(PAPER, 0, 0, 1e9)).toBe(1);
  });

  it('right after a repeat purchase (t_x = T) is the chance of not dropping out at it', () => {
    // With t_x = T the odds term is a / (b + x − 1).
    expect(pAlive(PAPER, 1, 20, 20)).toBeCloseTo(1 / (1 + PAPER.a / PAPER.b), 12);
    expect(pAlive(PAPER, 5, 30, 30)).toBeCloseTo(1 / (1 + PAPER.a / (PAPER.b + 4)), 12);
  });

  it('goes to 0 for a huge T without overflowing', () => {
    expect(pAlive(PAPER, 3, 10, 1e12)).toBeLessThan(1e-30);
    expect(pAlive(PAPER, 3, 10, 1e300)).toBe(0);
    expect(pAlive(PAPER, 300, 10, 1e300)).toBe(0);
    expect(pAlive(PAPER, 3, 10, Number.MAX_VALUE)).toBe(0);
  });

  it('matches lifetimes on a CDNOW customer (x=2, t_x=30.43, T=38.86)', () => {
    expect(pAlive(PAPER, 2, 30.43, 38.86)).toBeCloseTo(0.72658, 4);
  });

  it('stays in [0, 1], falls with silence and rises with recency', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), (x, tx, extra) => {
        const T = tx + extra;
        const p = pAlive(PAPER, x, tx, T);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThanOrEqual(1);
        expect(pAlive(PAPER, x, tx, T + 10)).toBeLessThanOrEqual(p);
        expect(pAlive(PAPER, x, Math.min(T, tx + 1), T)).toBeGreaterThanOrEqual(p);
      }),
    );
  });
});

describe('BG/NBD maths', () => {
  it('computes ln Γ accurately', () => {
    expect(logGamma(1)).toBeCloseTo(0, 14);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(logGamma(0.01)).toBeCloseTo(4.599479878042022, 12);
    expect(logGamma(171.5)).toBeCloseTo(709.1431630309282, 9);
    expect(logGamma(1000.5)).toBeCloseTo(5908.674175848677, 8);
  });

  it('sums to a probability across counts for a fixed window (x = 0 dominates a short one)', () => {
    // For T close to 0 almost everyone has made no repeat purchase yet.
    expect(Math.exp(bgnbdLogLikelihood(PAPER, { x: 0, tx: 0, T: 1e-9 }))).toBeCloseTo(1, 6);
  });

  it('computes 2F1 and the conditional expected purchases (checked against mpmath)', () => {
    expect(hypergeometric2F1(1, 1, 2, 0.5)).toBeCloseTo(2 * Math.log(2), 14); // −ln(1−z)/z
    expect(expectedPurchases(PAPER, 39, 2, 30.43, 38.86)).toBeCloseTo(1.2260281747671444, 9);
    expect(expectedPurchases(PAPER, 10, 0, 0, 38.86)).toBeCloseTo(0.05429984838044910, 9);
    expect(expectedPurchases(PAPER, 52, 7, 35, 38.86)).toBeCloseTo(5.5205675079993555, 9);
    expect(expectedPurchases(PAPER, 0, 2, 30, 38)).toBe(0);
  });
});
