import { describe, expect, it } from 'vitest';
import type { BgNbdFit } from '../stages/churn/bgnbd.js';
import { compareBgNbd, formatBgNbdReport, generatingBgNbd } from './verify-bgnbd.js';

const GENERATING = { r: 0.75, alpha: 4, a: 0.8, b: 2.5 };
const fit = (over: Partial<BgNbdFit>): BgNbdFit => ({
  params: { r: 0.8, alpha: 4.2, a: 0.7, b: 2.5 },
  standardErrors: { r: 0.02, alpha: 0.1, a: 0.05, b: 0.3 },
  logLikelihood: -1000,
  customers: 5000,
  iterations: 100,
  converged: true,
  ...over,
});

describe('BG/NBD check of a refit against the generating parameters', () => {
  it('passes a parameter within 3 standard errors and fails one outside', () => {
    const report = compareBgNbd(fit({}), GENERATING);
    expect(report.parameters.map((p) => [p.name, p.z, p.within])).toEqual([
      ['r', expect.closeTo(2.5, 9), true],
      ['alpha', expect.closeTo(2, 9), true],
      ['a', expect.closeTo(-2, 9), true],
      ['b', 0, true],
    ]);
    expect(report.ok).toBe(true);
    const off = compareBgNbd(fit({ params: { r: 0.75, alpha: 4, a: 0.8, b: 3.5 } }), GENERATING);
    expect(off.parameters.filter((p) => !p.within).map((p) => p.name)).toEqual(['b']);
    expect(off.ok).toBe(false);
    expect(formatBgNbdReport(off, 7)).toMatch(/NOT recovered[\s\S]*b .*\+3\.33 se {2}OUTSIDE/);
  });

  it('fails a fit without standard errors', () => {
    const report = compareBgNbd(fit({ standardErrors: null }), GENERATING);
    expect(report.ok).toBe(false);
    expect(report.parameters.every((p) => p.z === null && !p.within)).toBe(true);
  });

  it('reads the generating process from the simulator\'s parameters file and names a missing field', () => {
    const file = JSON.stringify({ days: 90, config: { seed: 42, repeatPurchases: { ...GENERATING, timeUnitDays: 7, horizonDays: 90 } } });
    expect(generatingBgNbd(file, 'h.params.json')).toEqual({ params: GENERATING, timeUnitDays: 7 });
    expect(() => generatingBgNbd(JSON.stringify({ config: {} }), 'old.params.json')).toThrow(/old\.params\.json.*repeatPurchases/);
  });
});
