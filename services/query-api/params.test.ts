import { describe, expect, it } from 'vitest';
import { BadRequestError, ChurnQuery, DropoffQuery, FunnelQuery, parseInstant, parseQuery, resolveWindow } from './params.js';

describe('time parameters', () => {
  it('read epoch milliseconds and ISO-8601, with UTC for a date-time without a zone', () => {
    expect(parseInstant('1772625600000')).toBe(Date.UTC(2026, 2, 4, 12));
    expect(parseInstant('2026-03-04T12:00:00Z')).toBe(Date.UTC(2026, 2, 4, 12));
    expect(parseInstant('2026-03-04T12:00:00')).toBe(Date.UTC(2026, 2, 4, 12));
    expect(parseInstant('2026-03-04 12:00')).toBe(Date.UTC(2026, 2, 4, 12));
    expect(parseInstant('2026-03-04T14:00:00.000+02:00')).toBe(Date.UTC(2026, 2, 4, 12));
    expect(parseInstant('2026-03-04')).toBe(Date.UTC(2026, 2, 4));
  });

  it('reject prose dates, impossible dates, and seconds mistaken for milliseconds', () => {
    for (const text of ['yesterday', 'March 4 2026', '2026-13-01', '2026-02-30', '2026-02-29T10:00Z', '2026-03-04T12:60', '2026-03-04T25:00', '1772625600', '', "1' OR '1'='1"]) {
      expect(parseInstant(text), text).toBeUndefined();
    }
  });

  it('default to the 24 hours before now', () => {
    expect(resolveWindow({}, 1_000_000_000_000)).toEqual({ fromMs: 1_000_000_000_000 - 86_400_000, toMs: 1_000_000_000_000 });
  });

  it('refuse a window that ends before it starts', () => {
    expect(() => resolveWindow({ from: 2, to: 1 }, 10)).toThrow('from: must be before to');
  });
});

describe('query parsing', () => {
  const message = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(BadRequestError);
      return (e as Error).message;
    }
    throw new Error('expected a BadRequestError');
  };

  it('names the field in every message', () => {
    expect(message(() => parseQuery(FunnelQuery, { from: 'soon' }))).toMatch(/^from: expected an ISO-8601/);
    expect(message(() => parseQuery(DropoffQuery, { stage: 'checkout' }))).toBe(
      'stage: expected one of awareness, consideration, purchase, retention, advocacy',
    );
    expect(message(() => parseQuery(ChurnQuery, { limit: '10; DROP TABLE x' }))).toBe('limit: expected a whole number');
    expect(message(() => parseQuery(ChurnQuery, { minScore: '1.5' }))).toBe('minScore: expected a number between 0 and 1');
    expect(message(() => parseQuery(FunnelQuery, { site: ['a', 'b'] }))).toBe('site: expected a single value');
    expect(message(() => parseQuery(FunnelQuery, { sites: 'a' }))).toBe('sites: unknown parameter');
  });

  it('keeps free-text dimensions as they are, to be bound as parameters', () => {
    expect(parseQuery(FunnelQuery, { site: "x' OR 1=1 --", campaign: 'spring' })).toEqual({ site: "x' OR 1=1 --", campaign: 'spring' });
  });
});
