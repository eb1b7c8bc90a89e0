import { describe, expect, it } from 'vitest';
import type { Channel } from '../../../schemas/touchpoint.js';
import { channelFromName, deriveChannel, type ChannelSignals } from './channel.js';

const SHOP = 'https://shop.example.com/products/1';
const browser = { page: { url: SHOP }, userAgent: 'Mozilla/5.0 (Macintosh)', library: { name: 'analytics.js' } };

function signals(over: Partial<ChannelSignals>): ChannelSignals {
  return { type: 'track', event: 'Product Viewed', properties: {}, context: {}, envelopeChannel: null, pageUrl: null, referrer: null, utmMedium: null, ...over };
}

describe('deriveChannel', () => {
  const table: Array<[string, Partial<ChannelSignals>, Channel]> = [
    // explicit override
    ['properties.channel overrides every other signal', { properties: { channel: 'store' }, utmMedium: 'cpc' }, 'store'],
    ['context.channel overrides derived signals', { context: { channel: 'Email' } }, 'email'],
    ['a known synonym in properties.channel', { properties: { channel: 'in-store' } }, 'store'],
    ['an unknown channel name maps to other', { properties: { channel: 'carrier pigeon' } }, 'other'],
    // offline events
    ['Store Visited is a store touchpoint', { event: 'Store Visited' }, 'store'],
    ['Call Center Contacted is support', { event: 'Call Center Contacted' }, 'support'],
    ['any Support Ticket event is support', { event: 'Support Ticket Resolved' }, 'support'],
    ['Survey Answered without a channel is support', { event: 'Survey Answered' }, 'support'],
    ['Survey Answered names its channel in properties', { event: 'Survey Answered', properties: { channel: 'email' } }, 'email'],
    ['offline names only count for track calls', { type: 'page', event: '', context: browser, pageUrl: SHOP }, 'direct'],
    // campaign
    ['utm_medium=cpc is ads', { utmMedium: 'cpc', context: browser, pageUrl: SHOP }, 'ads'],
    ['utm_medium=ppc is ads', { utmMedium: 'PPC' }, 'ads'],
    ['utm_medium=paid_social is ads (paid wins)', { utmMedium: 'paid_social' }, 'ads'],
    ['utm_medium=email is email', { utmMedium: 'email' }, 'email'],
    ['utm_medium=social is social', { utmMedium: 'social' }, 'social'],
    ['utm_medium=organic is search', { utmMedium: 'organic' }, 'search'],
    ['utm_medium=affiliate is referral', { utmMedium: 'affiliate' }, 'referral'],
    ['campaign beats referrer', { utmMedium: 'email', referrer: 'https://www.google.com/' }, 'email'],
    ['a gclid on the landing page is ads even without UTM tags', { pageUrl: `${SHOP}?gclid=abc`, context: browser }, 'ads'],
    // referrer
    ['a Google referrer is search', { referrer: 'https://www.google.com/', pageUrl: SHOP, context: browser }, 'search'],
    ['a Google ccTLD referrer is search', { referrer: 'https://www.google.co.uk/search?q=x', pageUrl: SHOP }, 'search'],
    ['a Bing referrer is search', { referrer: 'https://www.bing.com/search?q=shoes' }, 'search'],
    ['a DuckDuckGo referrer is search', { referrer: 'https://duckduckgo.com/' }, 'search'],
    ['Gmail web is email, not search', { referrer: 'https://mail.google.com/mail/u/0/' }, 'email'],
    ['a t.co referrer is social', { referrer: 'https://t.co/abc' }, 'social'],
    ['a LinkedIn referrer is social', { referrer: 'https://www.linkedin.com/feed/' }, 'social'],
    ['an ad-network referrer is ads', { referrer: 'https://googleads.g.doubleclick.net/pagead' }, 'ads'],
    ['another site is a referral', { referrer: 'https://blog.partner.org/review', pageUrl: SHOP, context: browser }, 'referral'],
    ['in-site navigation on a web page is web', { referrer: 'https://shop.example.com/', pageUrl: SHOP, context: browser }, 'web'],
    ['www and subdomains are the same site', { referrer: 'https://www.example.com/', pageUrl: SHOP, context: browser }, 'web'],
    // app / web / other
    ['an app context is mobile', { context: { app: { name: 'Shop' }, device: { type: 'ios' } } }, 'mobile'],
    ['a mobile SDK is mobile', { context: { library: { name: 'analytics-android' } } }, 'mobile'],
    ['a RudderStack Android SDK is mobile', { context: { library: { name: 'com.rudderstack.android.sdk.core' } } }, 'mobile'],
    ['a screen call is mobile', { type: 'screen', event: '' }, 'mobile'],
    ['Segment envelope channel=mobile is mobile', { envelopeChannel: 'mobile' }, 'mobile'],
    ['a web page without referrer or campaign is direct', { context: browser, pageUrl: SHOP }, 'direct'],
    ['a page call without context is direct', { type: 'page', event: '' }, 'direct'],
    ['a server-side call without page context is other', { context: { library: { name: '@segment/analytics-node' } } }, 'other'],
    ['no signals at all is other', {}, 'other'],
  ];

  it.each(table)('%s', (_behaviour, over, expected) => {
    expect(deriveChannel(signals(over))).toBe(expected);
  });
});

describe('channelFromName', () => {
  it('accepts every channel name case-insensitively', () => {
    expect(channelFromName(' Social ')).toBe('social');
    expect(channelFromName('DIRECT')).toBe('direct');
  });
});
