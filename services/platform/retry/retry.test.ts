import { describe, expect, it } from 'vitest';
import { backoffMs } from './backoff.js';
import { retry, type Failure } from './retry.js';

describe('backoffMs', () => {
  const backoff = { baseMs: 100, capMs: 1_000 };

  it('doubles from the base up to the cap, with equal jitter: between half the ceiling and all of it', () => {
    expect([0, 1, 2, 3, 4, 40].map((n) => backoffMs(n, backoff, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([0, 1, 2, 3, 4, 40].map((n) => backoffMs(n, backoff, () => 0.5))).toEqual([75, 150, 300, 600, 750, 750]);
    expect([0, 1, 2, 3, 4, 40].map((n) => backoffMs(n, backoff, () => 1))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });
});

describe('retry', () => {
  it('retries until an attempt succeeds, waiting what the policy says', async () => {
    const slept: number[] = [];
    const failures: Failure[] = [];
    const result = await retry(
      async (n) => {
        if (n < 2) throw new Error(`fail ${n}`);
        return `ok after ${n}`;
      },
      {
        delayMs: (f) => (failures.push(f), 10 * (f.attempt + 1)),
        sleep: async (ms) => void slept.push(ms),
      },
    );
    expect(result).toBe('ok after 2');
    expect(slept).toEqual([10, 20]);
    expect(failures.map((f) => [f.attempt, (f.error as Error).message])).toEqual([
      [0, 'fail 0'],
      [1, 'fail 1'],
    ]);
  });

  it('throws the last error when the policy gives up, or the policy’s own error', async () => {
    const sleep = async () => {};
    const failing = async (n: number) => Promise.reject(new Error(`fail ${n}`));
    await expect(retry(failing, { delayMs: (f) => (f.attempt < 3 ? 0 : null), sleep })).rejects.toThrow('fail 3');
    await expect(
      retry(failing, {
        delayMs: () => {
          throw new Error('abandoned');
        },
        sleep,
      }),
    ).rejects.toThrow('abandoned');
  });
});
