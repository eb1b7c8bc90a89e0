import type { Touchpoint } from './touchpoint.js';

/** A valid touchpoint for tests; override what the test is about. */
export function makeTouchpoint(overrides: Partial<Touchpoint> = {}): Touchpoint {
  const timestamp = overrides.timestamp ?? Date.UTC(2026, 10, 22, 12, 0, 0);
  return {
    messageId: 'm-1',
    type: 'track',
    event: 'Product Viewed',
    anonymousId: 'anon-1',
    userId: null,
    previousId: null,
    groupId: null,
    emailHash: null,
    source: 'web',
    site: 'shop.example',
    channel: 'web',
    timestamp,
    originalTimestamp: timestamp,
    sentAt: timestamp,
    receivedAt: timestamp,
    url: 'https://shop.example/products/1',
    path: '/products/1',
    referrer: null,
    utmSource: null,
    utmMedium: null,
    utmCampaign: null,
    deviceType: 'desktop',
    deviceId: null,
    segment: null,
    revenue: null,
    properties: '{}',
    ...overrides,
  };
}
