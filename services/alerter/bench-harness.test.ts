import { describe, expect, it } from 'vitest';
import { binomialSample, createPrng, runAlertingBench, simulateWindow, DEFAULT_PROFILE } from '../../tests/bench/alerting.bench.js';

// A small version of the alerting evaluation harness (tests/bench/alerting.bench.ts). Its figures
// are reported by `npm run bench`, not asserted here; this only pins down that a seed reproduces them.
const small = { sizes: [200], drops: [0.3], stationaryDays: 2, incidentsPerCell: 20, horizonWindows: 6 };

describe('alerting evaluation harness', () => {
  it('produces the same output twice for the same seed', async () => {
    const first = await runAlertingBench({ ...small, seed: 7 });
    const second = await runAlertingBench({ ...small, seed: 7 });
    expect(second).toEqual(first);
    expect(first).toHaveProperty('goals');
  });

  it('produces different traffic for a different seed', async () => {
    const a = await runAlertingBench({ ...small, seed: 7 });
    const b = await runAlertingBench({ ...small, seed: 8 });
    expect(b.incidents).not.toEqual(a.incidents);
  });

  it('simulates binomial counts with the expected mean', () => {
    const random = createPrng(1);
    let sum = 0;
    for (let i = 0; i < 2000; i++) sum += binomialSample(random, 1000, 0.1);
    expect(sum / 2000).toBeGreaterThan(99);
    expect(sum / 2000).toBeLessThan(101);
    const window = simulateWindow(createPrng(2), { ...DEFAULT_PROFILE, meanConversions: 200 }, 0);
    expect(window.successes).toBeLessThanOrEqual(window.trials);
  });
});
