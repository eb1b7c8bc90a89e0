import { describe, expect, it } from 'vitest';
import { parsePeriod } from './period.js';

describe('the attribution run period', () => {
  it('reads dates and zone-less times as UTC, and times with a zone as given', () => {
    expect(parsePeriod('2026-11-01', '2026-12-01T12:00')).toEqual({ fromMs: Date.UTC(2026, 10, 1), toMs: Date.UTC(2026, 11, 1, 12) });
    expect(parsePeriod('2026-11-01T00:00:00+02:00', '2026-11-02').fromMs).toBe(Date.UTC(2026, 9, 31, 22));
  });

  it('widens the period to whole UTC hours, as /api/attribution reads it', () => {
    expect(parsePeriod('2026-11-01T10:15', '2026-11-01T12:30')).toEqual({ fromMs: Date.UTC(2026, 10, 1, 10), toMs: Date.UTC(2026, 10, 1, 13) });
  });

  it('refuses a missing, malformed or empty period, naming the option', () => {
    expect(() => parsePeriod(undefined, '2026-12-01')).toThrow('--from is required');
    expect(() => parsePeriod('yesterday', '2026-12-01')).toThrow('--from: expected an ISO-8601');
    expect(() => parsePeriod('2026-12-01', '2026-11-01')).toThrow('--from must be before --to');
  });
});
