import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIsoTimestamp } from './iso-time.js';
import { parseSegmentCall, SegmentCall, wellFormedCall } from './segment.js';

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

describe('parseIsoTimestamp on the form toISOString writes (its fast path)', () => {
  /** The rule, independently: a real calendar date and time of day, read by Date.parse. */
  const oracle = (value: string): number | null => {
    const [y, mo, d, h, mi, s] = [0, 5, 8, 11, 14, 17].map((at, i) => Number(value.slice(at, i === 0 ? 4 : at + 2)));
    const calendar = new Date(Date.UTC(2000, mo!, 0));
    calendar.setUTCFullYear(y!, mo!, 0);
    const valid = mo! >= 1 && mo! <= 12 && d! >= 1 && d! <= calendar.getUTCDate() && h! <= 23 && mi! <= 59 && s! <= 59;
    return valid ? Date.parse(value) : null;
  };

  it('reads every date toISOString writes as Date.parse does', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0100-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), (date) => {
        expect(parseIsoTimestamp(date.toISOString())).toBe(date.getTime());
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses impossible dates and times of that form, and reads years before 100 as written', () => {
    const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));
    const text = fc
      .tuple(fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, '0')), two(19), two(39), two(29), two(69), two(69), fc.integer({ min: 0, max: 999 }))
      .map(([y, mo, d, h, mi, s, ms]) => `${y}-${mo}-${d}T${h}:${mi}:${s}.${String(ms).padStart(3, '0')}Z`);
    fc.assert(
      fc.property(text, (value) => {
        expect(parseIsoTimestamp(value)).toBe(oracle(value));
      }),
      { numRuns: 3_000 },
    );
    expect(parseIsoTimestamp('0050-06-01T00:00:00.000Z')).toBe(Date.parse('0050-06-01T00:00:00.000Z'));
    expect(parseIsoTimestamp('2024-02-29T23:59:59.999Z')).toBe(Date.UTC(2024, 1, 29, 23, 59, 59, 999));
    expect(parseIsoTimestamp('2023-02-29T00:00:00.000Z')).toBeNull();
    // Year 0 is a leap year (Date.UTC would read it as 1900, which is not).
    expect(parseIsoTimestamp('0000-02-29T00:00:00.000Z')).toBe(Date.parse('0000-02-29T00:00:00.000Z'));
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

describe('wellFormedCall (the fast path of parseSegmentCall)', () => {
  const id = fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.double(), fc.constant(''), fc.constant(null), fc.boolean());
  const time = fc.oneof(
    fc.date({ min: new Date('1990-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
    fc.constantFrom('2024-05-01', '2024-05-01T14:00:00+02:00', '2024-02-30T00:00:00Z', '2024-05-01T12:00:00', 'yesterday', ''),
    fc.integer(),
    fc.constant(null),
  );
  const object = fc.oneof(fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3, noNullPrototype: true }), fc.constant(null), fc.jsonValue({ maxDepth: 1 }));
  const call = fc.record(
    {
      type: fc.constantFrom('track', 'identify', 'page', 'screen', 'group', 'alias', 'purchase', 5),
      event: fc.oneof(fc.string({ maxLength: 4 }), fc.constant(null), fc.integer()),
      name: fc.oneof(fc.string({ maxLength: 4 }), fc.constant(null), fc.integer()),
      category: fc.oneof(fc.string({ maxLength: 4 }), fc.constant(null), fc.integer()),
      messageId: id,
      userId: id,
      anonymousId: id,
      previousId: id,
      groupId: id,
      timestamp: time,
      originalTimestamp: time,
      sentAt: time,
      context: object,
      integrations: object,
      properties: object,
      traits: object,
      // Unknown fields, among them names an object inherits.
      zzz: fc.jsonValue({ maxDepth: 1 }),
      toString: fc.string({ maxLength: 3 }),
      constructor: fc.integer(),
      channel: fc.constantFrom('server', 'browser'),
    },
    // JSON.parse never makes null-prototype objects; they are left to zod (below).
    { requiredKeys: [], noNullPrototype: true },
  );

  it('returns exactly what zod returns for every call zod accepts, and null for every call zod refuses', () => {
    fc.assert(
      fc.property(call, (raw) => {
        const fast = wellFormedCall(raw);
        const zod = SegmentCall.safeParse(raw);
        if (!zod.success) {
          expect(fast).toBeNull();
          return;
        }
        expect(fast).not.toBeNull();
        expect(fast).toStrictEqual(zod.data);
        // Key order too: the touchpoint keeps unknown fields in this order.
        expect(Object.keys(fast!)).toEqual(Object.keys(zod.data));
      }),
      { numRuns: 3_000 },
    );
  });

  it('leaves what it does not take to zod: a __proto__ key, objects that are not plain', () => {
    expect(wellFormedCall(Object.assign(Object.create(null) as object, { type: 'track', event: 'X', userId: 'u' }))).toBeNull();
    const withProto = JSON.parse('{"type":"track","event":"X","userId":"u","__proto__":{"polluted":true}}') as unknown;
    expect(wellFormedCall(withProto)).toBeNull();
    expect(wellFormedCall({ type: 'track', event: 'X', userId: 'u', properties: new Map() })).toBeNull();
    expect(wellFormedCall([{ type: 'track', event: 'X', userId: 'u' }])).toBeNull();
  });
});
