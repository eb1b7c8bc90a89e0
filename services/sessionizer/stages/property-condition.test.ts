import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { conditionHolds, parsePropertyCondition, type PropertyCondition } from './property-condition.js';

const parse = (text: string): PropertyCondition => {
  const c = parsePropertyCondition(text);
  if (typeof c === 'string') throw new Error(c);
  return c;
};

describe('property conditions', () => {
  it('compare numbers, including numbers sent as strings', () => {
    expect(conditionHolds(parse('rating >= 4'), { rating: 4 })).toBe(true);
    expect(conditionHolds(parse('rating >= 4'), { rating: '5' })).toBe(true);
    expect(conditionHolds(parse('rating >= 4'), { rating: 3 })).toBe(false);
    expect(conditionHolds(parse('score<7'), { score: 6 })).toBe(true);
  });

  it('never hold an ordering on a missing or non-numeric property', () => {
    expect(conditionHolds(parse('rating >= 4'), {})).toBe(false);
    expect(conditionHolds(parse('rating < 4'), { rating: 'great' })).toBe(false);
  });

  it('compare strings, booleans and nested paths for equality', () => {
    expect(conditionHolds(parse('plan == "pro"'), { plan: 'pro' })).toBe(true);
    expect(conditionHolds(parse('plan != pro'), { plan: 'free' })).toBe(true);
    expect(conditionHolds(parse('trial == true'), { trial: true })).toBe(true);
    expect(conditionHolds(parse('order.total > 100'), { order: { total: 120 } })).toBe(true);
  });

  it('test presence', () => {
    expect(conditionHolds(parse('referrerId exists'), { referrerId: 'c9' })).toBe(true);
    expect(conditionHolds(parse('referrerId exists'), { referrerId: '' })).toBe(false);
    expect(conditionHolds(parse('referrerId missing'), {})).toBe(true);
  });

  it('reject text that is not a condition, and orderings against non-numbers', () => {
    expect(parsePropertyCondition('rating is great')).toMatch(/invalid condition/);
    expect(parsePropertyCondition('plan >= pro')).toMatch(/needs a number/);
  });

  it('agree with plain comparison for any number', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: -100, max: 100 }), (v, k) => {
        expect(conditionHolds(parse(`x >= ${k}`), { x: v })).toBe(v >= k);
        expect(conditionHolds(parse(`x < ${k}`), { x: v })).toBe(v < k);
      }),
    );
  });
});
