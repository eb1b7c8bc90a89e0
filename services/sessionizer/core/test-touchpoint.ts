import type { Touchpoint } from '../../../schemas/touchpoint.js';
import { EMPTY_TOUCHPOINT_FIELDS } from '../../../schemas/test-touchpoint.js';
import type { Stage } from '../../../schemas/journey.js';

/** A valid touchpoint for tests: an anonymous web page view at t=0 unless overridden. */
export function touchpoint(overrides: Partial<Touchpoint> = {}): Touchpoint {
  const timestamp = overrides.timestamp ?? 0;
  return {
    ...EMPTY_TOUCHPOINT_FIELDS,
    messageId: 'm-1',
    type: 'page',
    event: 'page_view',
    anonymousId: 'anon-1',
    source: 'test',
    site: 'shop',
    channel: 'web',
    timestamp,
    receivedAt: timestamp,
    deviceType: 'desktop',
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
