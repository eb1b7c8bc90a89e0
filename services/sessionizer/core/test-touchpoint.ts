import type { Touchpoint } from '../../../schemas/touchpoint.js';
import type { Stage } from '../../../schemas/journey.js';

/** A valid touchpoint for tests: an anonymous web page view at t=0 unless overridden. */
export function touchpoint(overrides: Partial<Touchpoint> = {}): Touchpoint {
  const timestamp = overrides.timestamp ?? 0;
  return {
    messageId: 'm-1',
    type: 'page',
    event: 'page_view',
    anonymousId: 'anon-1',
    userId: null,
    previousId: null,
    groupId: null,
    emailHash: null,
    source: 'test',
    site: 'shop',
    channel: 'web',
    timestamp,
    originalTimestamp: null,
    sentAt: null,
    receivedAt: timestamp,
    url: null,
    path: null,
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

/** A stand-in for the stage service's rules: the event name says the stage. */
export function stageByEventName(tp: Touchpoint): Stage | null {
  switch (tp.event) {
    case 'ad_click':
      return 'awareness';
    case 'product_view':
      return 'consideration';
    case 'order_completed':
      return 'purchase';
    case 'reorder':
      return 'retention';
    case 'referral_sent':
      return 'advocacy';
    default:
      return null;
  }
}
