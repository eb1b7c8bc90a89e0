import type { Touchpoint } from './touchpoint.js';

/** Every optional field of a touchpoint left empty: test factories spread it and set what matters. */
export const EMPTY_TOUCHPOINT_FIELDS = {
  anonymousId: null,
  userId: null,
  previousId: null,
  groupId: null,
  emailHash: null,
  originalTimestamp: null,
  sentAt: null,
  url: null,
  path: null,
  referrer: null,
  utmSource: null,
  utmMedium: null,
  utmCampaign: null,
  deviceId: null,
  segment: null,
  revenue: null,
  properties: '{}',
} as const satisfies Partial<Touchpoint>;

/** A valid touchpoint for tests; override what the test is about. */
export function makeTouchpoint(overrides: Partial<Touchpoint> = {}): Touchpoint {
  const timestamp = overrides.timestamp ?? Date.UTC(2026, 10, 22, 12, 0, 0);
  return {
    ...EMPTY_TOUCHPOINT_FIELDS,
    messageId: 'm-1',
    type: 'track',
    event: 'Product Viewed',
    anonymousId: 'anon-1',
    source: 'web',
    site: 'shop.example',
    channel: 'web',
    timestamp,
    originalTimestamp: timestamp,
    sentAt: timestamp,
    receivedAt: timestamp,
    url: 'https://shop.example/products/1',
    path: '/products/1',
    deviceType: 'desktop',
    ...overrides,
  };
}
