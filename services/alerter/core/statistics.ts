import { logGamma } from '../../platform/math/log-gamma.js';
/**
 * Small, dependency-free statistics for drop detection. Every function is pure and total over its
 * documented domain; degenerate inputs (no trials, zero variance) return 0 statistics, never NaN.
 */

export interface Proportion {
  readonly successes: number;
  readonly trials: number;
}

/** Complementary error function (Numerical Recipes `erfcc`): fractional error < 1.2e-7 everywhere, so tails stay accurate. */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Standard normal CDF, P(Z ≤ x). */
export const normalCdf = (x: number): number => 0.5 * erfc(-x / Math.SQRT2);

/** Standard normal upper tail, P(Z > x), accurate far into the tail (no 1 − cdf cancellation). */
export const normalUpperTail = (x: number): number => 0.5 * erfc(x / Math.SQRT2);

/** Inverse standard normal CDF (Acklam's rational approximation plus one Halley step: ~1e-15 relative error). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return -Infinity;
    if (p === 1) return Infinity;
    throw new RangeError(`normalQuantile: p must be in [0, 1], got ${p}`);
  }
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const low = 0.02425;
  let x: number;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

export interface Interval {
  readonly lower: number;
  readonly upper: number;
}

/** Wilson score interval for a binomial proportion at `z` standard errors (z = 1.96 for 95%). */
export function wilsonInterval(successes: number, trials: number, z: number): Interval {
  if (trials <= 0) return { lower: 0, upper: 1 };
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const center = (p + z2 / (2 * trials)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return { lower: Math.max(0, center - half), upper: Math.min(1, center + half) };
}

/**
 * Score statistic of an observed proportion against a reference rate p0, positive when the observed
 * rate is BELOW p0. It is the statistic the Wilson interval inverts: the Wilson upper bound at z is
 * below p0 exactly when this is above z.
 */
export function scoreDropZ(successes: number, trials: number, p0: number): number {
  if (trials <= 0 || p0 <= 0 || p0 >= 1) return 0;
  return (p0 - successes / trials) / Math.sqrt((p0 * (1 - p0)) / trials);
}

/**
 * Pooled two-proportion z statistic, positive when `observed` converts worse than `reference`.
 * `varianceInflation` (≥ 1) widens the standard error for overdispersed traffic (quasi-binomial).
 */
export function twoProportionDropZ(observed: Proportion, reference: Proportion, varianceInflation = 1): number {
  if (observed.trials <= 0 || reference.trials <= 0) return 0;
  const p1 = observed.successes / observed.trials;
  const p0 = reference.successes / reference.trials;
  const pooled = (observed.successes + reference.successes) / (observed.trials + reference.trials);
  const variance = varianceInflation * pooled * (1 - pooled) * (1 / observed.trials + 1 / reference.trials);
  if (variance <= 0) return 0;
  return (p0 - p1) / Math.sqrt(variance);
}

/**
 * Volume test on variance-stabilised counts: for X ~ Poisson(λ), 2√X has variance ≈ 1 whatever λ,
 * so z = 2(√λ − √x) is a drop statistic. `baselineWindows` (effective windows behind λ) adds the
 * baseline's own uncertainty; `varianceInflation` covers overdispersed traffic.
 */
export function countDropZ(observed: number, expected: number, baselineWindows = Infinity, varianceInflation = 1): number {
  if (expected <= 0) return 0;
  const variance = varianceInflation * (1 + 1 / baselineWindows);
  return (2 * (Math.sqrt(expected) - Math.sqrt(Math.max(0, observed)))) / Math.sqrt(variance);
}

/** Regularised upper incomplete gamma Q(a, x) = Γ(a, x)/Γ(a) (series below a+1, continued fraction above). */
export function upperRegularizedGamma(a: number, x: number): number {
  if (x <= 0) return 1;
  const logPrefix = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return Math.max(0, 1 - sum * Math.exp(logPrefix));
  }
  // Lentz's continued fraction.
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.exp(logPrefix) * h;
}

/** Exact Poisson lower tail P(X ≤ k) for X ~ Poisson(mean). */
export function poissonLowerTail(k: number, mean: number): number {
  if (k < 0) return 0;
  if (mean <= 0) return 1;
  return upperRegularizedGamma(Math.floor(k) + 1, mean);
}

/** The exact Poisson lower tail expressed as a z score (positive = fewer than expected). */
export function poissonDropZ(observed: number, expected: number): number {
  const tail = poissonLowerTail(observed, expected);
  if (tail >= 1) return -Infinity;
  return -normalQuantile(Math.max(tail, Number.MIN_VALUE));
}

/**
 * Exponentially weighted sums of successes and trials. Keeping both sums (not just a rate) gives
 * the baseline an effective sample size (`trials`) and an effective number of windows (`windows`).
 */
export interface EwmaCounts {
  readonly successes: number;
  readonly trials: number;
  readonly windows: number;
}

/** Per-window decay so that a window's weight halves every `halfLifeWindows` windows. */
export const decayForHalfLife = (halfLifeWindows: number): number => Math.pow(2, -1 / halfLifeWindows);

export function ewmaAdd(previous: EwmaCounts | null, window: Proportion, halfLifeWindows: number): EwmaCounts {
  const decay = decayForHalfLife(halfLifeWindows);
  if (previous === null) return { successes: window.successes, trials: window.trials, windows: 1 };
  return {
    successes: decay * previous.successes + window.successes,
    trials: decay * previous.trials + window.trials,
    windows: decay * previous.windows + 1,
  };
}

/** Baseline conversion rate; 0 when the baseline has no trials. */
export const ewmaRate = (e: EwmaCounts): number => (e.trials > 0 ? e.successes / e.trials : 0);

/** Baseline count per window (volume monitors keep the count in `trials`). */
export const ewmaPerWindow = (e: EwmaCounts): number => (e.windows > 0 ? e.trials / e.windows : 0);

/** An exponentially weighted mean of a scalar with a prior worth `weight` observations. */
export interface EwmaMean {
  readonly sum: number;
  readonly weight: number;
}

export const ewmaMeanValue = (m: EwmaMean): number => (m.weight > 0 ? m.sum / m.weight : 0);

export function ewmaMeanAdd(previous: EwmaMean, value: number, halfLifeWindows: number): EwmaMean {
  const decay = decayForHalfLife(halfLifeWindows);
  return { sum: decay * previous.sum + value, weight: decay * previous.weight + 1 };
}
