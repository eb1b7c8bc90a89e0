import { describe, expect, it } from 'vitest';
import { mapLimited } from './map-limited.js';

/** Calls that settle only when the test releases them, so the test sees how many run at once. */
function heldCalls() {
  const waiting: Array<() => void> = [];
  let running = 0;
  let most = 0;
  const fn = async (x: number) => {
    running++;
    most = Math.max(most, running);
    await new Promise<void>((resolve) => waiting.push(resolve));
    running--;
    return x * 10;
  };
  const releaseOne = async () => {
    waiting.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { fn, releaseOne, running: () => running, most: () => most, waiting: () => waiting.length };
}

describe('mapLimited', () => {
  it('runs at most `limit` calls at once and keeps the order of the items', async () => {
    const calls = heldCalls();
    const done = mapLimited([1, 2, 3, 4, 5], 2, calls.fn);
    await new Promise((r) => setImmediate(r));
    expect(calls.running()).toBe(2);
    while (calls.waiting() > 0) await calls.releaseOne();
    expect(await done).toEqual([10, 20, 30, 40, 50]);
    expect(calls.most()).toBe(2);
  });

  it('maps nothing to nothing', async () => {
    expect(await mapLimited([], 4, async (x: number) => x)).toEqual([]);
  });

  it('rejects with the first failure', async () => {
    await expect(mapLimited([1, 2, 3], 2, async (x) => (x === 2 ? Promise.reject(new Error('two')) : x))).rejects.toThrow('two');
  });
});
