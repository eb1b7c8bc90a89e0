import { describe, expect, it } from 'vitest';
import { logGamma } from './log-gamma.js';

describe('logGamma', () => {
  it('is ln((n−1)!) at whole numbers', () => {
    let factorial = 1;
    for (let n = 1; n <= 20; n++) {
      expect(logGamma(n)).toBeCloseTo(Math.log(factorial), 11);
      factorial *= n;
    }
  });

  it('satisfies Γ(x+1) = x·Γ(x) between the whole numbers and below 0.5 (the reflection branch)', () => {
    for (const x of [0.001, 0.1, 0.25, 0.49, 0.5, 0.75, 2.5, 33.3, 150.7]) {
      expect(logGamma(x + 1) - logGamma(x)).toBeCloseTo(Math.log(x), 10);
    }
  });
});
