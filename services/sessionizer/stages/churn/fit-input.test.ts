import { describe, expect, it } from 'vitest';
import { observationFromRow, observationFromTimestamps, observationsFromRows, summariesByCustomer, toEpochMs } from './fit-input.js';

const DAY = 86_400_000;
const T0 = Date.UTC(1997, 0, 1);

describe('fit input', () => {
  it('turns purchase timestamps into (x, t_x, T) in weeks, counting each purchase day once', () => {
    const obs = observationFromTimestamps([T0 + 14 * DAY, T0, T0 + 3_600_000, T0 + 28 * DAY], T0 + 70 * DAY, 7);
    expect(obs).toEqual({ x: 2, tx: 4, T: 10 });
  });

  it('ignores purchases after the observation end and has nothing for a customer without purchases', () => {
    expect(observationFromTimestamps([T0, T0 + 100 * DAY], T0 + 7 * DAY, 7)).toEqual({ x: 0, tx: 0, T: 1 });
    expect(observationFromTimestamps([], T0, 7)).toBeNull();
  });

  it('reads ClickHouse rows with DateTime64 strings as UTC and quoted 64-bit counts', () => {
    const obs = observationFromRow(
      { customer_id: 'c1', first_purchase: '1997-01-01 00:00:00.000', last_purchase: '1997-01-15 00:00:00.000', purchases: '3', observed_until: '1997-03-12 00:00:00' },
      7,
    );
    expect(obs).toEqual({ x: 2, tx: 2, T: 10 });
  });

  it('accepts epoch milliseconds and ISO strings', () => {
    expect(toEpochMs(T0)).toBe(T0);
    expect(toEpochMs(String(T0))).toBe(T0);
    expect(toEpochMs('1997-01-01T00:00:00Z')).toBe(T0);
    expect(toEpochMs('1997-01-01T02:00:00+02:00')).toBe(T0);
    expect(() => toEpochMs('yesterday')).toThrow(RangeError);
  });

  it('sets t_x to 0 for a single purchase', () => {
    expect(observationFromRow({ customer_id: 'c1', first_purchase: T0, last_purchase: T0, purchases: 1, observed_until: T0 + 7 * DAY }, 7)).toEqual({ x: 0, tx: 0, T: 1 });
  });

  it('skips inconsistent rows with a reason naming the customer', () => {
    const { observations, skipped } = observationsFromRows(
      [
        { customer_id: 'ok', first_purchase: T0, last_purchase: T0 + DAY, purchases: 2, observed_until: T0 + 7 * DAY },
        { customer_id: 'backwards', first_purchase: T0 + DAY, last_purchase: T0, purchases: 2, observed_until: T0 + 7 * DAY },
        { customer_id: 'none', first_purchase: T0, last_purchase: T0, purchases: 0, observed_until: T0 },
        { customer_id: 'future', first_purchase: T0, last_purchase: T0 + 9 * DAY, purchases: 2, observed_until: T0 + 7 * DAY },
      ],
      7,
    );
    expect(observations).toHaveLength(1);
    expect(skipped.map((s) => s.customerId)).toEqual(['backwards', 'none', 'future']);
    expect(skipped[0]?.reason).toMatch(/customer backwards: last_purchase is before first_purchase/);
  });

  it('combines the purchases of ids merged since under the customer they resolve to, a shared day counted once', () => {
    const until = T0 + 70 * DAY;
    const rows = [
      { customer_id: 'anon-1', first_purchase: T0, last_purchase: T0 + 3_600_000, purchase_days: ['1997-01-01'], observed_until: until },
      { customer_id: 'user-1', first_purchase: T0 + 7_200_000, last_purchase: T0 + 14 * DAY, purchase_days: ['1997-01-01', '1997-01-15'], observed_until: until },
      { customer_id: 'user-2', first_purchase: T0 + 7 * DAY, last_purchase: T0 + 7 * DAY, purchase_days: ['1997-01-08'], observed_until: until },
    ];
    const resolve = (id: string) => (id === 'anon-1' ? 'user-1' : id);
    expect(summariesByCustomer(rows, resolve)).toEqual([
      { customer_id: 'user-1', first_purchase: T0, last_purchase: T0 + 14 * DAY, purchases: 2, observed_until: until },
      { customer_id: 'user-2', first_purchase: T0 + 7 * DAY, last_purchase: T0 + 7 * DAY, purchases: 1, observed_until: until },
    ]);
    expect(observationsFromRows(summariesByCustomer(rows, resolve), 7).observations).toEqual([
      { x: 1, tx: 2, T: 10 },
      { x: 0, tx: 0, T: 9 },
    ]);
  });
});
