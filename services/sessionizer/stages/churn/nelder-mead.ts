export interface MinimizeResult {
  x: number[];
  value: number;
  iterations: number;
  converged: boolean;
}

export interface NelderMeadOptions {
  /** Initial simplex edge along each axis. */
  step?: number;
  maxIterations?: number;
  /** Stop when the spread of function values over the simplex falls below this. */
  tolerance?: number;
}

/**
 * Minimises `f` with the Nelder–Mead simplex (standard coefficients: reflection 1, expansion 2,
 * contraction ½, shrink ½). Derivative-free, so the likelihood needs no gradient; non-finite
 * values are treated as +∞ so the simplex backs away from invalid regions.
 */
export function nelderMead(f: (x: readonly number[]) => number, start: readonly number[], options: NelderMeadOptions = {}): MinimizeResult {
  const { step = 0.5, maxIterations = 5000, tolerance = 1e-10 } = options;
  const n = start.length;
  const value = (x: readonly number[]) => {
    const v = f(x);
    return Number.isFinite(v) ? v : Infinity;
  };
  let simplex: { x: number[]; v: number }[] = [{ x: [...start], v: value(start) }];
  for (let i = 0; i < n; i++) {
    const x = [...start];
    x[i]! += step;
    simplex.push({ x, v: value(x) });
  }
  const combine = (a: readonly number[], b: readonly number[], t: number) => a.map((ai, i) => ai + t * (b[i]! - ai));

  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    simplex.sort((p, q) => p.v - q.v);
    const best = simplex[0]!;
    const worst = simplex[n]!;
    const secondWorst = simplex[n - 1]!;
    if (Math.abs(worst.v - best.v) <= tolerance * (Math.abs(best.v) + tolerance)) {
      return { x: best.x, value: best.v, iterations, converged: true };
    }
    const centroid = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) centroid[j]! += simplex[i]!.x[j]! / n;

    const reflected = combine(centroid, worst.x, -1);
    const vr = value(reflected);
    if (vr < best.v) {
      const expanded = combine(centroid, worst.x, -2);
      const ve = value(expanded);
      simplex[n] = ve < vr ? { x: expanded, v: ve } : { x: reflected, v: vr };
      continue;
    }
    if (vr < secondWorst.v) {
      simplex[n] = { x: reflected, v: vr };
      continue;
    }
    // Contract towards the better of the worst point and its reflection.
    const outside = vr < worst.v;
    const contracted = combine(centroid, outside ? reflected : worst.x, 0.5);
    const vc = value(contracted);
    if (vc < (outside ? vr : worst.v)) {
      simplex[n] = { x: contracted, v: vc };
      continue;
    }
    simplex = simplex.map((p, i) => {
      if (i === 0) return p;
      const x = combine(best.x, p.x, 0.5);
      return { x, v: value(x) };
    });
  }
  simplex.sort((p, q) => p.v - q.v);
  return { x: simplex[0]!.x, value: simplex[0]!.v, iterations, converged: false };
}
