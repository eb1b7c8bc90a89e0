import { describe, expect, it } from 'vitest';
import { MapSweep } from './map-sweep.js';

describe('MapSweep', () => {
  it('visits every entry once per round, a limited number per call, resuming where it stopped', () => {
    const map = new Map([1, 2, 3, 4, 5].map((n) => [n, n * 10]));
    const sweep = new MapSweep(map);
    expect(sweep.visit(10, () => true)).toEqual([]); // no round started
    sweep.start();
    expect(sweep.visit(2, () => true)).toEqual([1, 2]);
    expect(sweep.visit(2, (_k, v) => v >= 40)).toEqual([4]);
    expect(sweep.sweeping).toBe(true);
    expect(sweep.visit(2, () => true)).toEqual([5]);
    expect(sweep.sweeping).toBe(false);
    sweep.start();
    expect(sweep.visit(10, (k) => k % 2 === 1)).toEqual([1, 3, 5]);
  });

  it('tolerates deletions and additions between calls: deleted keys are skipped, added ones visited in the same round', () => {
    const map = new Map([['a', 1], ['b', 2], ['c', 3]]);
    const sweep = new MapSweep(map);
    sweep.start();
    expect(sweep.visit(1, () => true)).toEqual(['a']);
    map.delete('a');
    map.delete('b');
    map.set('d', 4);
    expect(sweep.visit(10, () => true)).toEqual(['c', 'd']);
    expect(sweep.sweeping).toBe(false);
  });
});
