import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeadLetter } from '../../../schemas/journey.js';
import { Touchpoint } from '../../../schemas/touchpoint.js';
import { collectEvents, type CollectInput } from './collect.js';
import { MAX_EVENT_BYTES } from './limits.js';

const receivedAt = Date.UTC(2024, 4, 1, 12);

function input(events: unknown[], over: Partial<CollectInput> = {}): CollectInput {
  let next = 0;
  return {
    events,
    source: { sourceId: 'web-eu', site: 'shop', hashEmails: true },
    receivedAt,
    newMessageId: () => `gen-${++next}`,
    ...over,
  };
}

const track = (over: Record<string, unknown> = {}) => ({ type: 'track', event: 'Product Viewed', userId: 'u-1', messageId: 'm-1', ...over });

describe('collectEvents', () => {
  it('accepts valid events and dead-letters invalid ones without sinking the batch', () => {
    const result = collectEvents(input([track(), { type: 'track', userId: 'u-2' }, 'not an event', track({ messageId: 'm-4' })]));

    expect(result.touchpoints.map((t) => t.messageId)).toEqual(['m-1', 'm-4']);
    expect(result.rejections).toEqual([
      { index: 1, code: 'invalid_event', reason: 'event is required' },
      { index: 2, code: 'invalid_event', reason: 'event must be a JSON object' },
    ]);
    expect(result.deadLetters).toEqual([
      { sourceTopic: 'segment-http:web-eu', stage: 'collector', reason: 'event is required', at: receivedAt, key: 'u-2', payload: '{"type":"track","userId":"u-2"}' },
      { sourceTopic: 'segment-http:web-eu', stage: 'collector', reason: 'event must be a JSON object', at: receivedAt, key: null, payload: '"not an event"' },
    ]);
  });

  it('dead-letters an event over 32 KB with a too_large reason', () => {
    const result = collectEvents(input([track({ properties: { blob: 'x'.repeat(MAX_EVENT_BYTES) } })]));
    expect(result.touchpoints).toEqual([]);
    expect(result.rejections[0]).toMatchObject({ code: 'too_large', reason: expect.stringContaining('the limit is 32768 bytes') });
  });

  it('keeps at most 64 KB of a refused event in its dead letter, and says so', () => {
    // 1e20 is 21 digits once re-serialized: 450 KB of request makes a 1.9 MB payload, more than Kafka takes.
    const numbers = JSON.parse(`{"type":"track","event":"e","userId":"${'u'.repeat(5_000)}","properties":{"n":[${Array(90_000).fill('1e20').join(',')}]}}`) as unknown;
    const [dead] = collectEvents(input([numbers])).deadLetters;
    expect(Buffer.byteLength(dead!.payload)).toBeLessThanOrEqual(64 * 1024);
    expect(dead!.payload.startsWith('{"type":"track","event":"e"')).toBe(true);
    expect(dead!.reason).toMatch(/the limit is 32768 bytes; payload truncated to its first 65536 of \d+ bytes$/);
    expect(dead!.key).toBe('u'.repeat(1024));
  });

  it('dead-letters hostile nesting instead of overflowing the stack', () => {
    let deep: unknown = {};
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    const result = collectEvents(input([track({ properties: deep })]));
    expect(result.rejections[0]?.reason).toBe('event nests deeper than 64 levels');
    expect(result.deadLetters[0]?.payload).toBe('');
  });

  it('generates a messageId only for events that have none', () => {
    const result = collectEvents(input([track({ messageId: undefined }), track({ messageId: 'client-id' }), track({ messageId: null })]));
    expect(result.touchpoints.map((t) => t.messageId)).toEqual(['gen-1', 'client-id', 'gen-2']);
  });

  it('merges the batch context under each event context, the event winning field by field', () => {
    const result = collectEvents(
      input([track({ context: { page: { url: 'https://shop.example.com/a' }, library: { version: '2' } } }), track()], {
        batchContext: { library: { name: 'analytics-python', version: '1' }, page: { referrer: 'https://www.bing.com/' } },
      }),
    );
    const [withOwn, withoutOwn] = result.touchpoints;
    expect(withOwn).toMatchObject({ url: 'https://shop.example.com/a', referrer: 'https://www.bing.com/', channel: 'search', deviceType: 'server' });
    expect(withoutOwn).toMatchObject({ url: null, referrer: 'https://www.bing.com/' });
  });

  it('applies the batch sentAt to events without their own, correcting clock skew', () => {
    const deviceSkewMs = 3_600_000;
    const result = collectEvents(
      input([track({ timestamp: new Date(receivedAt + deviceSkewMs - 2_000).toISOString() })], {
        batchSentAt: new Date(receivedAt + deviceSkewMs).toISOString(),
      }),
    );
    expect(result.touchpoints[0]).toMatchObject({ timestamp: receivedAt - 2_000, sentAt: receivedAt + deviceSkewMs, receivedAt });
  });

  it('dead-letters an event whose corrected time is absurd, with the reason', () => {
    const result = collectEvents(input([track({ timestamp: '1999-12-31T23:59:59Z' })]));
    expect(result.rejections[0]?.reason).toContain('before 2000-01-01');
  });

  it('lets the route decide the call type of a single-event request', () => {
    const result = collectEvents(input([{ type: 'identify', userId: 'u', event: 'Signed Up' }], { callType: 'track' }));
    expect(result.touchpoints[0]).toMatchObject({ type: 'track', event: 'Signed Up' });
  });

  it('removes email fields from dead-letter payloads', () => {
    const result = collectEvents(input([{ type: 'identify', traits: { email: 'jane@example.com' }, context: { traits: { email: 'jane@example.com' } } }]));
    expect(result.deadLetters).toHaveLength(1);
    expect(result.deadLetters[0]?.payload).not.toContain('jane@example.com');
    expect(JSON.parse(result.deadLetters[0]!.payload)).toEqual({ type: 'identify', traits: {}, context: { traits: {} } });
  });

  it('puts every event in exactly one of touchpoints or dead letters, never a raw email, whatever the input', () => {
    const email = 'jane@example.com';
    const anyEvent = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          type: fc.constantFrom('track', 'identify', 'page', 'screen', 'group', 'alias', 'other'),
          event: fc.string(),
          userId: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
          anonymousId: fc.string(),
          previousId: fc.string(),
          groupId: fc.string(),
          timestamp: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string()),
          // Emails are recognised by their field name (email, Email, email_address, ...).
          traits: fc.record(
            { email: fc.constant(email), Email: fc.constant(email), email_address: fc.constant(email), persona: fc.constant('builder') },
            { requiredKeys: [] },
          ),
          context: fc.oneof(fc.jsonValue(), fc.constant({ traits: { email } })),
          properties: fc.jsonValue(),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 20 }), (events) => {
        const result = collectEvents(input(events));
        expect(result.touchpoints.length + result.deadLetters.length).toBe(events.length);
        expect(result.rejections.length).toBe(result.deadLetters.length);
        for (const t of result.touchpoints) expect(Touchpoint.safeParse(t).success).toBe(true);
        for (const d of result.deadLetters) expect(DeadLetter.safeParse(d).success).toBe(true);
        expect(JSON.stringify(result)).not.toContain(email);
      }),
      { numRuns: 300 },
    );
  });
});
