import { describe, expect, it } from 'vitest';
import { topPaths } from './path-stats.js';

describe('top paths', () => {
  const paths = [
    { channels: ['search', 'email'], conversions: 6, nulls: 2 },
    { channels: ['ads'], conversions: 1, nulls: 9 },
    { channels: ['social', 'ads'], conversions: 6, nulls: 0 },
    { channels: ['direct'], conversions: 0, nulls: 3 },
  ];

  it('ranks paths by conversions and by drop-offs with their conversion rates, ties by journeys then text', () => {
    const { toConversion, toDropoff } = topPaths(paths, 2);
    expect(toConversion).toEqual([
      { path: 'search > email', journeys: 8, conversions: 6, dropoffs: 2, conversionRate: 0.75 },
      { path: 'social > ads', journeys: 6, conversions: 6, dropoffs: 0, conversionRate: 1 },
    ]);
    expect(toDropoff.map((p) => [p.path, p.dropoffs, p.conversionRate])).toEqual([['ads', 9, 0.1], ['direct', 3, 0]]);
  });

  it('lists a path under drop-offs only if some journey on it dropped off', () => {
    expect(topPaths(paths, 10).toDropoff.map((p) => p.path)).toEqual(['ads', 'direct', 'search > email']);
  });
});
