import { describe, expect, it } from 'vitest';
import { createResultCache } from './cache.js';

describe('result cache', () => {
  it('shares one load between concurrent and recent identical requests', async () => {
    let t = 0;
    let loads = 0;
    const cache = createResultCache(1_000, () => t);
    const load = async () => ++loads;
    expect(await Promise.all([cache.get('a', load), cache.get('a', load)])).toEqual([1, 1]);
    t = 999;
    expect(await cache.get('a', load)).toBe(1);
    expect(await cache.get('b', load)).toBe(2);
  });

  it('loads again once the answer is older than the TTL', async () => {
    let t = 0;
    let loads = 0;
    const cache = createResultCache(1_000, () => t);
    await cache.get('a', async () => ++loads);
    t = 1_000;
    expect(await cache.get('a', async () => ++loads)).toBe(2);
  });

  it('does not keep failures', async () => {
    const cache = createResultCache(1_000, () => 0);
    await expect(cache.get('a', async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('a', async () => 'up')).toBe('up');
  });

  it('passes straight through with a zero TTL', async () => {
    let loads = 0;
    const cache = createResultCache(0);
    await cache.get('a', async () => ++loads);
    await cache.get('a', async () => ++loads);
    expect(loads).toBe(2);
  });

  /** A two-entry cache on a clock the test sets, and a log of the keys it had to load. */
  const smallCache = () => {
    const clock = { t: 0 };
    const loads: string[] = [];
    const cache = createResultCache(1_000, () => clock.t, 2);
    const get = (key: string) => cache.get(key, async () => (loads.push(key), key));
    return { clock, loads, get };
  };

  it('when full, makes room by dropping the oldest answer only', async () => {
    const { clock, loads, get } = smallCache();
    await get('a');
    clock.t = 1;
    await get('b');
    clock.t = 2;
    await get('c');
    await get('b');
    await get('c');
    expect(loads).toEqual(['a', 'b', 'c']);
    await get('a');
    expect(loads).toEqual(['a', 'b', 'c', 'a']);
    await get('c');
    expect(loads).toEqual(['a', 'b', 'c', 'a']);
  });

  it('drops expired answers before live ones when full', async () => {
    const { clock, loads, get } = smallCache();
    await get('a');
    clock.t = 600;
    await get('b');
    clock.t = 1_200; // a has expired, b has not
    await get('a');
    await get('b');
    expect(loads).toEqual(['a', 'b', 'a']);
  });
});
