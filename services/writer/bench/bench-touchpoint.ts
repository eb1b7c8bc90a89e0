import type { Touchpoint } from '../../../schemas/touchpoint.js';

/** The i-th touchpoint of the writer's measuring scripts: a day ago (inside every table's TTL), deterministic. */
export function benchTouchpoint(i: number, base: number, properties: Record<string, unknown>): Touchpoint {
  return {
    messageId: `m-${i}`,
    type: 'track',
    event: ['Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed'][i % 4]!,
    anonymousId: `a-${i % 7_000}`,
    userId: null,
    previousId: null,
    groupId: null,
    emailHash: null,
    source: 'web-shop',
    site: 'shop.example',
    channel: 'web',
    timestamp: base + i * 10,
    originalTimestamp: base + i * 10,
    sentAt: base + i * 10 + 5,
    receivedAt: base + i * 10 + 20,
    url: `https://shop.example/p/${i % 300}`,
    path: `/p/${i % 300}`,
    referrer: null,
    utmSource: 'newsletter',
    utmMedium: 'email',
    utmCampaign: `spring-${i % 12}`,
    deviceType: 'desktop',
    deviceId: null,
    segment: 'returning',
    revenue: i % 4 === 3 ? 49.9 : null,
    properties: JSON.stringify(properties),
  };
}
