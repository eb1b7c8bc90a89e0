import { describe, expect, it } from 'vitest';
import { NO_VALUE, toWindowTotals } from './window-source.js';

describe('window counts from ClickHouse rows', () => {
  it('splits the total row from the breakdown rows and reads 64-bit integers sent as strings', () => {
    const totals = toWindowTotals(
      [
        { dimension: '', value: '', trials: '300', successes: '120' },
        { dimension: 'channel', value: 'web', trials: 200, successes: 90 },
        { dimension: 'channel', value: 'email', trials: '100', successes: '30' },
        { dimension: 'campaign', value: '', trials: 300, successes: 120 },
      ],
      ['channel', 'campaign'],
    );
    expect(totals).toEqual({
      trials: 300,
      successes: 120,
      breakdowns: [
        { dimension: 'campaign', value: NO_VALUE, trials: 300, successes: 120 },
        { dimension: 'channel', value: 'email', trials: 100, successes: 30 },
        { dimension: 'channel', value: 'web', trials: 200, successes: 90 },
      ],
    });
  });

  it('reads an empty window as zero trials, and never more successes than trials', () => {
    expect(toWindowTotals([], ['channel'])).toEqual({ trials: 0, successes: 0, breakdowns: [] });
    expect(toWindowTotals([{ dimension: '', value: '', trials: 10, successes: 11 }], []).successes).toBe(10);
  });
});
