/**
 * Asymptotic standard errors of a maximum-likelihood estimate from the observed information: the
 * negative Hessian of the total log-likelihood at the optimum, inverted, is the estimates'
 * covariance matrix; the standard errors are the square roots of its diagonal.
 */

/** Hessian of `f` at `x` by central differences with step `h` along each axis. */
export function numericalHessian(f: (x: readonly number[]) => number, x: readonly number[], h: number): number[][] {
  const n = x.length;
  const at = (di: number, si: number, dj: number, sj: number): number => {
    const y = [...x];
    y[di] = y[di]! + si * h;
    y[dj] = y[dj]! + sj * h;
    return f(y);
  };
  const f0 = f(x);
  const H = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    const plus = [...x];
    const minus = [...x];
    plus[i] = plus[i]! + h;
    minus[i] = minus[i]! - h;
    H[i]![i] = (f(plus) - 2 * f0 + f(minus)) / (h * h);
    for (let j = 0; j < i; j++) {
      const v = (at(i, 1, j, 1) - at(i, 1, j, -1) - at(i, -1, j, 1) + at(i, -1, j, -1)) / (4 * h * h);
      H[i]![j] = v;
      H[j]![i] = v;
    }
  }
  return H;
}

/** The inverse of a symmetric positive-definite matrix (by Cholesky), or null when it is not positive definite. */
export function invertPositiveDefinite(m: readonly (readonly number[])[]): number[][] | null {
  const n = m.length;
  // m = L Lᵀ.
  const L = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = m[i]![j]!;
      for (let k = 0; k < j; k++) s -= L[i]![k]! * L[j]![k]!;
      if (i === j) {
        if (!(s > 0)) return null;
        L[i]![i] = Math.sqrt(s);
      } else L[i]![j] = s / L[j]![j]!;
    }
  }
  // m⁻¹ = L⁻ᵀ L⁻¹: solve L y = e_c, then Lᵀ x = y, for each column c.
  const inv = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let c = 0; c < n; c++) {
    const y = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      let s = i === c ? 1 : 0;
      for (let k = 0; k < i; k++) s -= L[i]![k]! * y[k]!;
      y[i] = s / L[i]![i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i]!;
      for (let k = i + 1; k < n; k++) s -= L[k]![i]! * inv[k]![c]!;
      inv[i]![c] = s / L[i]![i]!;
    }
  }
  return inv;
}

/**
 * Standard errors of the maximiser `x` of `logLikelihood`, or null when the observed information is
 * not positive definite there (not a strict maximum, or a flat direction: the data cannot pin a
 * parameter down).
 */
export function standardErrorsAt(logLikelihood: (x: readonly number[]) => number, x: readonly number[], h: number): number[] | null {
  const information = numericalHessian(logLikelihood, x, h).map((row) => row.map((v) => -v));
  const covariance = invertPositiveDefinite(information);
  return covariance === null ? null : covariance.map((row, i) => Math.sqrt(row[i]!));
}
