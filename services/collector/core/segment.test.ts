import { describe, expect, it } from 'vitest';
import { parseIsoTimestamp } from './iso-time.js';
import { parseSegmentCall } from './segment.js';

describe('parseIsoTimestamp', () => {
  it.each([
    ['2024-05-01T12:00:00Z', Date.UTC(2024, 4, 1, 12)],
    ['2024-05-01T12:00:00.123Z', Date.UTC(2024, 4, 1, 12, 0, 0, 123)],
    ['2024-05-01T12:00:00.123456Z', Date.UTC(2024, 4, 1, 12, 0, 0, 123)],
    ['2024-05-01T14:00:00+02:00', Date.UTC(2024, 4, 1, 12)],
    ['2024-05-01T14:00:00+0200', Date.UTC(2024, 4, 1, 12)],
    ['2024-05-01T12:00Z', Date.UTC(2024, 4, 1, 12)],
    ['2024-05-01', Date.UTC(2024, 4, 1)],
  ])('accepts the ISO-8601 string %s', (input, expected) => {
    expect(parseIsoTimestamp(input)).toBe(expected);
  });

  it.each([
    ['a zone-less date-time, which would depend on the server zone', '2024-05-01T12:00:00'],
    ['an impossible day that Date.parse would roll over', '2024-02-30T00:00:00Z'],
    ['an impossible month', '2024-13-01T00:00:00Z'],
    ['hour 24', '2024-05-01T24:00:00Z'],
    ['an RFC 2822 date', 'Wed, 01 May 2024 12:00:00 GMT'],
    ['epoch milliseconds as a string', '1714564800000'],
    ['free text', 'yesterday'],
    ['an empty string', ''],
  ])('rejects %s', (_why, input) => {
    expect(parseIsoTimestamp(input)).toBeNull();
  });
});

describe('parseSegmentCall', () => {
  it('accepts each call type with its required fields', () => {
    const calls = [
      { type: 'track', userId: 'u1', event: 'Order Completed' },
      { type: 'identify', anonymousId: 'a1', traits: { plan: 'pro' } },
      { type: 'page', anonymousId: 'a1', name: 'Pricing' },
      { type: 'screen', userId: 'u1', name: 'Home' },
      { type: 'group', userId: 'u1', groupId: 'acme' },
      { type: 'alias', userId: 'u1', previousId: 'a1' },
    ];
    for (const call of calls) expect(parseSegmentCall(call)).toMatchObject({ ok: true, call: { type: call.type } });
  });

  it.each([
    ['a call without userId or anonymousId', { type: 'track', event: 'X' }, 'userId or anonymousId is required'],
    ['null ids, which count as absent', { type: 'track', event: 'X', userId: null, anonymousId: '' }, 'userId or anonymousId is required'],
    ['a track without event', { type: 'track', userId: 'u' }, 'event is required'],
    ['a track with an empty event', { type: 'track', userId: 'u', event: '' }, 'event is required'],
    ['a group without groupId', { type: 'group', userId: 'u' }, 'groupId is required'],
    ['an alias without previousId', { type: 'alias', userId: 'u' }, 'previousId is required'],
    ['an alias without userId, even with anonymousId', { type: 'alias', anonymousId: 'a', previousId: 'p' }, 'userId is required'],
    ['an unknown call type', { type: 'purchase', userId: 'u' }, 'type must be one of track, identify, page, screen, group, alias'],
    ['a call without type', { userId: 'u' }, 'type must be one of'],
    ['a non-ISO timestamp', { type: 'track', userId: 'u', event: 'X', timestamp: 'May 1st' }, 'timestamp must be an ISO-8601'],
    ['a numeric sentAt', { type: 'track', userId: 'u', event: 'X', sentAt: 1714564800000 }, 'sentAt must be an ISO-8601'],
    ['properties that are not an object', { type: 'track', userId: 'u', event: 'X', properties: [1, 2] }, 'properties must be a JSON object'],
    ['a context that is not an object', { type: 'page', userId: 'u', context: 'web' }, 'context must be a JSON object'],
  ])('rejects %s with a reason naming the rule', (_why, call, reason) => {
    const outcome = parseSegmentCall(call);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.reason).toContain(reason);
  });

  it('never quotes the offending value in the reason, so reasons are safe to log', () => {
    const outcome = parseSegmentCall({ type: 'track', userId: 'u', event: 'X', timestamp: 'jane@example.com' });
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.reason).not.toContain('jane');
  });

  it('keeps unknown top-level fields and turns timestamps into epoch milliseconds and numeric ids into strings', () => {
    const outcome = parseSegmentCall({
      type: 'identify',
      userId: 42,
      traits: null,
      originalTimestamp: '2024-05-01T12:00:00Z',
      experiment: { arm: 'B' },
    });
    expect(outcome).toMatchObject({
      ok: true,
      call: { userId: '42', anonymousId: null, originalTimestamp: Date.UTC(2024, 4, 1, 12), timestamp: null, experiment: { arm: 'B' } },
    });
  });
});
