import { describe, expect, it } from 'vitest';
import { DEFAULT_HEURISTIC_OPTIONS, heuristicCredit, touchesInWindow, type Conversion, type HeuristicModel, type Touch } from './heuristic.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);
const touch = (messageId: string, channel: string, at: number, campaign: string | null = null): Touch => ({ messageId, channel, campaign, at });
const order: Conversion = { id: 'order-1', at: T0 + 20 * DAY, revenue: 100 };

/** search (day 0), email (day 10, campaign spring), social (day 16), direct (day 20, the order's day). */
const journey = [
  touch('t1', 'search', T0),
  touch('t2', 'email', T0 + 10 * DAY, 'spring'),
  touch('t3', 'social', T0 + 16 * DAY),
  touch('t4', 'direct', T0 + 20 * DAY - 60_000),
];

const credits = (model: HeuristicModel, touches = journey, conversion = order, options = DEFAULT_HEURISTIC_OPTIONS) =>
  heuristicCredit(model, conversion, touches, options).map((c) => [c.touch.channel, c.credit]);

describe('heuristic attribution', () => {
  it('gives first touch and last touch all the credit to one end, listing the others at 0', () => {
    expect(credits('first_touch')).toEqual([['search', 1], ['email', 0], ['social', 0], ['direct', 0]]);
    expect(credits('last_touch')).toEqual([['search', 0], ['email', 0], ['social', 0], ['direct', 1]]);
  });

  it('splits linearly', () => {
    expect(credits('linear')).toEqual([['search', 0.25], ['email', 0.25], ['social', 0.25], ['direct', 0.25]]);
  });

  it('gives 40/20/40 position-based credit, with the middle 20% shared', () => {
    expect(credits('position_based')).toEqual([['search', 0.4], ['email', 0.1], ['social', 0.1], ['direct', 0.4]]);
    expect(credits('position_based', journey.slice(0, 1))).toEqual([['search', 1]]);
    expect(credits('position_based', journey.slice(0, 2))).toEqual([['search', 0.5], ['email', 0.5]]);
    expect(credits('position_based', journey.slice(0, 3))).toEqual([['search', 0.4], ['email', 0.2], ['social', 0.4]]);
  });

  it('halves a touch\'s time-decay weight per half-life before the conversion', () => {
    // Half-life 2 days; ages 20 d, 10 d, 4 d, 1 min → weights 2^-10, 2^-5, 2^-2, 2^-(1/2880).
    const options = { ...DEFAULT_HEURISTIC_OPTIONS, halfLifeMs: 2 * DAY };
    const raw = [2 ** -10, 2 ** -5, 2 ** -2, 2 ** -(1 / 2880)];
    const total = raw.reduce((a, b) => a + b, 0);
    const got = heuristicCredit('time_decay', order, journey, options);
    got.forEach((c, i) => expect(c.credit).toBeCloseTo(raw[i]! / total, 12));
    expect(got.reduce((a, c) => a + c.credit, 0)).toBeCloseTo(1, 12);
  });

  it('shares the revenue by credit, and leaves it null for a conversion without revenue', () => {
    expect(heuristicCredit('position_based', order, journey).map((c) => c.revenueShare)).toEqual([40, 10, 10, 40]);
    expect(heuristicCredit('linear', { ...order, revenue: null }, journey).map((c) => c.revenueShare)).toEqual([null, null, null, null]);
  });

  it('counts touches from exactly the lookback before the conversion up to its very millisecond, and nothing outside', () => {
    const lookback = DEFAULT_HEURISTIC_OPTIONS.lookbackMs; // 30 days
    const edges = [
      touch('too-early', 'ads', order.at - lookback - 1),
      touch('first-edge', 'search', order.at - lookback),
      touch('same-ms', 'email', order.at),
      touch('after', 'social', order.at + 1),
    ];
    expect(touchesInWindow(order, edges).map((t) => t.messageId)).toEqual(['first-edge', 'same-ms']);
    expect(credits('first_touch', edges)).toEqual([['search', 1], ['email', 0]]);
    expect(credits('linear', edges, order, { ...DEFAULT_HEURISTIC_OPTIONS, lookbackMs: 7 * DAY })).toEqual([['email', 1]]);
  });

  it('leaves a conversion without touches in its window unattributed', () => {
    expect(heuristicCredit('linear', order, [touch('old', 'ads', order.at - 40 * DAY)])).toEqual([]);
  });

  it('counts a repeated messageId once, ignores the conversion itself, and keeps only the latest maxTouches', () => {
    const repeated = [...journey, journey[1]!, touch('order-1', 'other', order.at)];
    expect(credits('linear', repeated)).toEqual(credits('linear'));
    const many = Array.from({ length: 150 }, (_, i) => touch(`m${String(i).padStart(3, '0')}`, i < 50 ? 'ads' : 'email', order.at - (150 - i) * 60_000));
    const window = touchesInWindow(order, many);
    expect(window).toHaveLength(100);
    expect(window[0]!.messageId).toBe('m050');
  });

  it('re-attributes when a late touch arrives: computing again from the full list gives the corrected credit', () => {
    const before = credits('first_touch', journey.slice(1));
    expect(before[0]).toEqual(['email', 1]);
    // The search touch of day 0 arrives late (after the order was attributed), out of order in the list.
    const late = [...journey.slice(1), journey[0]!];
    expect(credits('first_touch', late)).toEqual(credits('first_touch'));
    expect(credits('first_touch', late)[0]).toEqual(['search', 1]);
  });

  it('counts an absorbed id\'s touches after an identity merge (the merged list is the union)', () => {
    const device = [touch('a1', 'social', T0 + 2 * DAY), touch('a2', 'ads', T0 + 18 * DAY)];
    const user = [touch('u1', 'email', T0 + 12 * DAY), touch('u2', 'direct', T0 + 19 * DAY)];
    expect(credits('position_based', user)).toEqual([['email', 0.5], ['direct', 0.5]]);
    expect(credits('position_based', [...user, ...device])).toEqual([['social', 0.4], ['email', 0.1], ['ads', 0.1], ['direct', 0.4]]);
  });
});
