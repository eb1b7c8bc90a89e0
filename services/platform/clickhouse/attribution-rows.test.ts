import { describe, expect, it } from 'vitest';
import { heuristicCredit, type Touch } from '../attribution/heuristic.js';
import { attributionRows, type AttributedConversion } from './attribution-rows.js';

const T0 = Date.UTC(2026, 10, 1, 12);
const conversion: AttributedConversion = { id: 'order-1', customerId: 'u:alice', site: 'shop', at: T0 + 3_600_000, revenue: 80 };
const touches: Touch[] = [
  { messageId: 'm1', channel: 'search', campaign: null, at: T0 },
  { messageId: 'm2', channel: 'email', campaign: 'spring', at: T0 + 60_000 },
];

describe('attribution rows', () => {
  it('map each credited touch to a row of the attribution table, versioned by the touch count', () => {
    const rows = attributionRows(conversion, 'linear', heuristicCredit('linear', conversion, touches));
    expect(rows).toEqual([
      { conversion_id: 'order-1', customer_id: 'u:alice', site: 'shop', converted_at: '2026-11-01 13:00:00.000', model: 'linear', touch_message_id: 'm1', channel: 'search', campaign: null, touch_at: '2026-11-01 12:00:00.000', credit: 0.5, revenue_share: 40, version: 2 },
      { conversion_id: 'order-1', customer_id: 'u:alice', site: 'shop', converted_at: '2026-11-01 13:00:00.000', model: 'linear', touch_message_id: 'm2', channel: 'email', campaign: 'spring', touch_at: '2026-11-01 12:01:00.000', credit: 0.5, revenue_share: 40, version: 2 },
    ]);
  });

  it('give a correction with a late touch a higher version and a row for every key of the version it replaces', () => {
    const first = attributionRows(conversion, 'first_touch', heuristicCredit('first_touch', conversion, touches.slice(1)));
    const late: Touch = { messageId: 'm0', channel: 'social', campaign: null, at: T0 - 60_000 };
    const corrected = attributionRows(conversion, 'first_touch', heuristicCredit('first_touch', conversion, [...touches.slice(1), late]));
    expect(first.map((r) => [r.touch_message_id, r.credit, r.version])).toEqual([['m2', 1, 1]]);
    expect(corrected.map((r) => [r.touch_message_id, r.credit, r.version])).toEqual([['m0', 1, 2], ['m2', 0, 2]]);
    for (const old of first) expect(corrected.some((r) => r.touch_message_id === old.touch_message_id && r.version > old.version)).toBe(true);
  });
});
