import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Touchpoint } from '../../../schemas/touchpoint.js';
import { parseSegmentCall, type SegmentCall } from './segment.js';
import type { SourceInfo } from './source-config.js';
import { toTouchpoint } from './to-touchpoint.js';

const receivedAt = Date.UTC(2024, 4, 1, 12);
const times = { timestamp: receivedAt - 1_000, originalTimestamp: receivedAt - 5_000, sentAt: receivedAt - 4_000, receivedAt };
const web: SourceInfo = { sourceId: 'web-eu', site: 'shop', hashEmails: false };
const hashing: SourceInfo = { ...web, hashEmails: true };

function call(raw: Record<string, unknown>): SegmentCall {
  const outcome = parseSegmentCall(raw);
  if (!outcome.ok) throw new Error(outcome.reason);
  return outcome.call;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('toTouchpoint', () => {
  it('maps a browser track call onto every touchpoint field', () => {
    const touchpoint = toTouchpoint({
      messageId: 'm-1',
      times,
      source: web,
      call: call({
        type: 'track',
        event: 'Order Completed',
        userId: 'u-1',
        anonymousId: 'a-1',
        properties: { total: 99.5, currency: 'EUR', segment: 'smb' },
        context: {
          page: { url: 'https://shop.example.com/checkout?utm_source=ignored', path: '/checkout', referrer: 'https://www.google.com/' },
          campaign: { source: 'newsletter', medium: 'email', name: 'spring' },
          userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148',
          device: { id: 'dev-9' },
        },
      }),
    });

    expect(touchpoint).toEqual({
      messageId: 'm-1',
      type: 'track',
      event: 'Order Completed',
      anonymousId: 'a-1',
      userId: 'u-1',
      previousId: null,
      groupId: null,
      emailHash: null,
      source: 'web-eu',
      site: 'shop',
      channel: 'email',
      ...times,
      url: 'https://shop.example.com/checkout?utm_source=ignored',
      path: '/checkout',
      referrer: 'https://www.google.com/',
      utmSource: 'newsletter',
      utmMedium: 'email',
      utmCampaign: 'spring',
      deviceType: 'mobile',
      deviceId: 'dev-9',
      segment: 'smb',
      revenue: 99.5,
      properties: JSON.stringify({ total: 99.5, currency: 'EUR', segment: 'smb' }),
    });
    expect(Touchpoint.safeParse(touchpoint).success).toBe(true);
  });

  it('takes page url, path and referrer from a page call’s properties, and the name as the event', () => {
    const touchpoint = toTouchpoint({
      messageId: 'm',
      times,
      source: web,
      call: call({ type: 'page', anonymousId: 'a', name: 'Pricing', properties: { url: 'https://shop.example.com/pricing?utm_medium=cpc&utm_source=google&utm_campaign=brand' } }),
    });
    expect(touchpoint).toMatchObject({
      event: 'Pricing',
      url: 'https://shop.example.com/pricing?utm_medium=cpc&utm_source=google&utm_campaign=brand',
      path: '/pricing',
      // No context.campaign: the UTM tags of the page URL are used instead.
      utmSource: 'google',
      utmMedium: 'cpc',
      utmCampaign: 'brand',
      channel: 'ads',
    });
  });

  it('names identify, group and alias touchpoints after their call type and keeps group and alias ids', () => {
    expect(toTouchpoint({ messageId: 'm', times, source: web, call: call({ type: 'identify', userId: 'u' }) }).event).toBe('identify');
    expect(toTouchpoint({ messageId: 'm', times, source: web, call: call({ type: 'group', userId: 'u', groupId: 'acme' }) })).toMatchObject({
      event: 'group',
      groupId: 'acme',
    });
    expect(toTouchpoint({ messageId: 'm', times, source: web, call: call({ type: 'alias', userId: 'u', previousId: 'a' }) })).toMatchObject({
      event: 'alias',
      previousId: 'a',
      userId: 'u',
    });
    expect(toTouchpoint({ messageId: 'm', times, source: web, call: call({ type: 'screen', userId: 'u' }) }).event).toBe('screen');
  });

  it('keeps properties, traits and unknown top-level fields in one flat JSON object, properties winning', () => {
    const touchpoint = toTouchpoint({
      messageId: 'm',
      times,
      source: web,
      call: call({
        type: 'identify',
        userId: 'u',
        traits: { plan: 'pro', persona: 'builder' },
        experiment: { arm: 'B' },
        category: 'onboarding',
        writeKey: 'secret-key',
        integrations: { All: true },
      }),
    });
    expect(JSON.parse(touchpoint.properties)).toEqual({ experiment: { arm: 'B' }, category: 'onboarding', plan: 'pro', persona: 'builder' });
    expect(touchpoint.segment).toBe('builder');
  });

  it('hashes the trimmed, lower-cased email only when the source opted in', () => {
    const identify = call({ type: 'identify', userId: 'u', traits: { email: '  Jane.Doe@Example.COM ', plan: 'pro' } });
    expect(toTouchpoint({ messageId: 'm', times, source: hashing, call: identify }).emailHash).toBe(sha256('jane.doe@example.com'));
    expect(toTouchpoint({ messageId: 'm', times, source: web, call: identify }).emailHash).toBeNull();
  });

  it('reads the email from context.traits on track calls', () => {
    const track = call({ type: 'track', userId: 'u', event: 'X', context: { traits: { email: 'jane@example.com' } } });
    expect(toTouchpoint({ messageId: 'm', times, source: hashing, call: track }).emailHash).toBe(sha256('jane@example.com'));
  });

  it('never keeps a raw email in the stored properties, opted in or not', () => {
    const identify = call({
      type: 'identify',
      userId: 'u',
      traits: { email: 'jane@example.com', Email_Address: 'jane@example.com', plan: 'pro' },
      properties: { nested: { email: 'jane@example.com' } },
      extra: [{ 'e-mail': 'jane@example.com' }],
    });
    for (const source of [web, hashing]) {
      const touchpoint = toTouchpoint({ messageId: 'm', times, source, call: identify });
      expect(JSON.stringify(touchpoint)).not.toContain('jane@example.com');
      expect(JSON.parse(touchpoint.properties)).toMatchObject({ plan: 'pro' });
    }
  });

  it('reads revenue from properties.revenue, then properties.total, accepting numeric strings', () => {
    const revenue = (properties: Record<string, unknown>) =>
      toTouchpoint({ messageId: 'm', times, source: web, call: call({ type: 'track', userId: 'u', event: 'X', properties }) }).revenue;
    expect(revenue({ revenue: 10, total: 12 })).toBe(10);
    expect(revenue({ total: 12 })).toBe(12);
    expect(revenue({ revenue: '19.90' })).toBe(19.9);
    expect(revenue({ revenue: 'a lot' })).toBeNull();
    expect(revenue({})).toBeNull();
  });

  it('reads the segment from traits.persona, then context.traits.persona, then properties.segment', () => {
    const segment = (raw: Record<string, unknown>) => toTouchpoint({ messageId: 'm', times, source: web, call: call({ type: 'track', userId: 'u', event: 'X', ...raw }) }).segment;
    expect(segment({ context: { traits: { persona: 'ops' } }, properties: { segment: 'smb' } })).toBe('ops');
    expect(segment({ properties: { segment: 'smb' } })).toBe('smb');
    expect(segment({})).toBeNull();
  });
});
