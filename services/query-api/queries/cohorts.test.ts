import { describe, expect, it } from 'vitest';
import { mondayOf } from './cohorts.js';

describe('cohort weeks', () => {
  it('start on Monday 00:00 UTC', () => {
    const monday = Date.UTC(2026, 2, 2);
    expect(mondayOf(Date.UTC(2026, 2, 4, 12))).toBe(monday);
    expect(mondayOf(monday)).toBe(monday);
    expect(mondayOf(Date.UTC(2026, 2, 8, 23, 59))).toBe(monday);
    expect(mondayOf(Date.UTC(2026, 2, 9))).toBe(Date.UTC(2026, 2, 9));
  });
});
