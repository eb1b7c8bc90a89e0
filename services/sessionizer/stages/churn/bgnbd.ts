import { logGamma } from '../../../platform/math/log-gamma.js';
import { nelderMead } from './nelder-mead.js';
import { standardErrorsAt } from './standard-errors.js';

/**
 * BG/NBD ("Counting your customers the easy way", Fader, Hardie & Lee 2005). While alive, a
 * customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each purchase they die with
 * probability p ~ Beta(a, b). Observations are per customer in one time unit (CDNOW: weeks):
 * x repeat purchases, t_x the time of the last one, T the time since the first purchase.
 */
export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

export interface BgNbdObservation {
  x: number;
  tx: number;
  T: number;
}

/** ln L(r, α, a, b | x, t_x, T), eq. (6) of the paper, in log space to stay finite for large x and T. */
export function bgnbdLogLikelihood(p: BgNbdParams, o: BgNbdObservation): number {
  const { r, alpha, a, b } = p;
  const { x, tx, T } = o;
  const lnA1 = logGamma(r + x) - logGamma(r) + r * Math.log(alpha);
  const lnA2 = logGamma(a + b) + logGamma(b + x) - logGamma(b) - logGamma(a + b + x);
  const lnA3 = -(r + x) * Math.log(alpha + T);
  if (x === 0) return lnA1 + lnA2 + lnA3;
  const lnA4 = Math.log(a) - Math.log(b + x - 1) - (r + x) * Math.log(alpha + tx);
  const hi = Math.max(lnA3, lnA4);
  return lnA1 + lnA2 + hi + Math.log(Math.exp(lnA3 - hi) + Math.exp(lnA4 - hi));
}

/** Identical observations share one likelihood term (CDNOW's 2,357 customers have far fewer distinct ones). */
interface WeightedObservation extends BgNbdObservation {
  weight: number;
}

function groupObservations(data: readonly BgNbdObservation[]): WeightedObservation[] {
  const groups = new Map<string, WeightedObservation>();
  for (const o of data) {
    const key = `${o.x}|${o.tx}|${o.T}`;
    const g = groups.get(key);
    if (g) g.weight += 1;
    else groups.set(key, { ...o, weight: 1 });
  }
  return [...groups.values()];
}

export function bgnbdTotalLogLikelihood(p: BgNbdParams, data: readonly BgNbdObservation[]): number {
  return totalOf(p, groupObservations(data));
}

function totalOf(p: BgNbdParams, groups: readonly WeightedObservation[]): number {
  let ll = 0;
  for (const g of groups) ll += g.weight * bgnbdLogLikelihood(p, g);
  return ll;
}

export interface BgNbdFit {
  params: BgNbdParams;
  /**
   * Asymptotic standard errors of the estimates (observed information at the optimum), or null when
   * the information is singular there (the data cannot pin every parameter down).
   */
  standardErrors: BgNbdParams | null;
  logLikelihood: number;
  customers: number;
  iterations: number;
  converged: boolean;
}

/** The parameters from their logs (r, α, a, b): the fit works in log space, which keeps them positive. */
const fromLog = (v: readonly number[]): BgNbdParams => ({ r: Math.exp(v[0]!), alpha: Math.exp(v[1]!), a: Math.exp(v[2]!), b: Math.exp(v[3]!) });

function validate(o: BgNbdObservation, i: number): void {
  const ok = Number.isFinite(o.x) && o.x >= 0 && Number.isFinite(o.T) && o.T >= 0 && o.tx >= 0 && o.tx <= o.T && (o.x > 0 || o.tx === 0);
  if (!ok) throw new RangeError(`BG/NBD observation ${i} is invalid (need x ≥ 0, 0 ≤ t_x ≤ T, t_x = 0 when x = 0): ${JSON.stringify(o)}`);
}

/**
 * Maximum-likelihood fit: Nelder–Mead on the logs of the four parameters (keeps them positive
 * without constraints), restarted from its own optimum until it stops improving, since one
 * simplex run can stall on the flat ridge between a and b.
 */
export function fitBgNbd(data: readonly BgNbdObservation[], start: BgNbdParams = { r: 1, alpha: 1, a: 1, b: 1 }): BgNbdFit {
  if (data.length === 0) throw new RangeError('BG/NBD needs at least one customer to fit');
  data.forEach(validate);
  const groups = groupObservations(data);
  const n = data.length;
  // Per-customer mean, so the tolerance means the same thing for 100 customers or 10 million.
  const objective = (v: readonly number[]) => -totalOf(fromLog(v), groups) / n;

  let x = [start.r, start.alpha, start.a, start.b].map(Math.log);
  let best = Infinity;
  let iterations = 0;
  let converged = false;
  for (let round = 0; round < 10; round++) {
    const result = nelderMead(objective, x, { step: round === 0 ? 0.5 : 0.1, tolerance: 1e-12, maxIterations: 4000 });
    iterations += result.iterations;
    x = result.x;
    const improved = best - result.value;
    best = Math.min(best, result.value);
    if (result.converged && improved < 1e-9) {
      converged = true;
      break;
    }
  }
  const params = fromLog(x);
  return { params, standardErrors: standardErrorsOf(x, groups), logLikelihood: totalOf(params, groups), customers: n, iterations, converged };
}

/** Step of the numerical Hessian in log-parameter space: relative steps of 0.1%. */
const HESSIAN_STEP = 1e-3;

/**
 * Standard errors at the optimum `logParams` (logs of r, α, a, b). The Hessian is taken in log space,
 * where the likelihood is closer to quadratic, and mapped back by the delta method:
 * se(θ) = θ · se(ln θ).
 */
function standardErrorsOf(logParams: readonly number[], groups: readonly WeightedObservation[]): BgNbdParams | null {
  const se = standardErrorsAt((v) => totalOf(fromLog(v), groups), logParams, HESSIAN_STEP);
  if (se === null || !se.every(Number.isFinite)) return null;
  const p = fromLog(logParams);
  return { r: p.r * se[0]!, alpha: p.alpha * se[1]!, a: p.a * se[2]!, b: p.b * se[3]! };
}

/**
 * P(alive | x, t_x, T), eq. (13). A customer with no repeat purchase is alive with probability 1:
 * in BG/NBD death can only happen right after a purchase, and x = 0 gives none to die after.
 */
export function pAlive(p: BgNbdParams, x: number, tx: number, T: number): number {
  if (x <= 0) return 1;
  const lnOdds = Math.log(p.a) - Math.log(p.b + x - 1) + (p.r + x) * (Math.log(p.alpha + T) - Math.log(p.alpha + Math.min(tx, T)));
  // exp overflows to Infinity for huge T, which correctly gives 0.
  return 1 / (1 + Math.exp(lnOdds));
}

/**
 * Gauss hypergeometric 2F1(a, b; c; z) by its power series; converges for 0 ≤ z < 1, slowly near 1
 * (t much longer than the customer's age). Returns NaN if it has not converged after `maxTerms`.
 */
export function hypergeometric2F1(a: number, b: number, c: number, z: number, maxTerms = 100_000): number {
  let term = 1;
  let sum = 1;
  for (let k = 0; k < maxTerms; k++) {
    term *= ((a + k) * (b + k) * z) / ((c + k) * (k + 1));
    sum += term;
    if (Math.abs(term) <= 1e-15 * Math.abs(sum)) return sum;
  }
  return NaN;
}

/** E[purchases in (T, T + t] | x, t_x, T], eq. (10): the expected purchases of an existing customer over the next t units. */
export function expectedPurchases(p: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  const { r, alpha, a, b } = p;
  if (t <= 0) return 0;
  const ratio = Math.exp((r + x) * (Math.log(alpha + T) - Math.log(alpha + T + t)));
  const hyp = hypergeometric2F1(r + x, b + x, a + b + x - 1, t / (alpha + T + t));
  const numerator = ((a + b + x - 1) / (a - 1)) * (1 - ratio * hyp);
  const odds = x > 0 ? (a / (b + x - 1)) * Math.exp((r + x) * (Math.log(alpha + T) - Math.log(alpha + tx))) : 0;
  return numerator / (1 + odds);
}
