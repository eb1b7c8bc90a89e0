import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALL_PLAIN, packBytes, unpackBytes, type PackedBytes } from '../../platform/collections/packed-bytes.js';
import { withTouch } from './attribution-state-append.js';
import { decodeAttributionState, encodePackedAttributionState } from './attribution-state-codec.js';
import { CustomerAttribution, prune, type AttributionLimits } from './attribution-state.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);
const LIMITS: AttributionLimits = { lookbackMs: 3 * DAY, correctionMs: 2 * DAY, maxTouches: 5, maxConversions: 2 };

interface Step {
  conversion: boolean;
  messageId: string;
  at: number;
  /** receivedAt − timestamp: negative for a skewed client clock. */
  skew: number;
  channel: string;
  campaign: string | null;
  site: string;
}

/** What AttributionPartition.process does to the decoded state, as bytes. */
function reference(packed: PackedBytes | null, s: Step): PackedBytes {
  const state = packed === null ? new CustomerAttribution() : decodeAttributionState(unpackBytes(packed, ALL_PLAIN));
  state.clock = Math.max(state.clock, Math.min(s.at, s.at + s.skew));
  if (s.conversion) {
    if (!state.conversions.some((c) => c.id === s.messageId)) {
      state.addConversion({ id: s.messageId, at: s.at, revenue: null, site: s.site, customerId: 'u' });
      prune(state, LIMITS);
    }
  } else if (s.at >= state.clock - LIMITS.correctionMs - LIMITS.lookbackMs && state.insert(s.messageId, s.at, s.channel, s.campaign, s.site)) {
    prune(state, LIMITS);
  }
  return encodePackedAttributionState(state);
}

const step = fc.record({
  conversion: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  messageId: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'ü', 'm-11-123456', 'x'.repeat(130)),
  at: fc.integer({ min: 0, max: 12 * 4 }).map((q) => T0 + q * (DAY / 4)),
  skew: fc.constantFrom(0, 0, 0, -DAY, 1000),
  channel: fc.constantFrom('ads', 'email', 'search', 'shop', 'spring', 'é'),
  campaign: fc.constantFrom(null, null, 'spring', 'ads', 'c'.repeat(200), 'été'),
  site: fc.constantFrom('shop', 'shop', 'blog', 'ads'),
});

describe('a touch appended to a packed attribution state', () => {
  it('writes exactly the bytes of the decoded state after the same touch, or declines (property)', () => {
    let appended = 0;
    let declined = 0;
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        let packed: PackedBytes | null = null;
        for (const s of steps) {
          const expected = reference(packed, s);
          if (!s.conversion) {
            const fast = withTouch(packed, Math.min(s.at, s.at + s.skew), s.messageId, s.at, s.channel, s.campaign, s.site, LIMITS);
            if (fast === null) declined++;
            else {
              appended++;
              expect(Buffer.from(fast, 'latin1').toString('hex')).toBe(Buffer.from(expected, 'latin1').toString('hex'));
            }
          }
          packed = expected;
        }
      }),
      { numRuns: 300, seed: 22 },
    );
    // Both ways ran often (random times: many touches come out of order here, unlike real traffic).
    expect(appended).toBeGreaterThan(300);
    expect(declined).toBeGreaterThan(300);
  });

  it('appends in time order without decoding and declines what needs the decoded state', () => {
    const t = (packed: PackedBytes | null, id: string, at: number, channel = 'ads', site = 'shop') => withTouch(packed, at, id, at, channel, null, site, LIMITS);
    const one = t(null, 'm1', T0)!;
    const two = t(one, 'm2', T0 + 1000, 'email')!;
    const decoded = decodeAttributionState(unpackBytes(two, ALL_PLAIN)).view();
    expect(decoded).toEqual({
      clock: T0 + 1000,
      touches: [
        { messageId: 'm1', at: T0, channel: 'ads', campaign: null, site: 'shop' },
        { messageId: 'm2', at: T0 + 1000, channel: 'email', campaign: null, site: 'shop' },
      ],
      conversions: [],
    });
    expect(t(two, 'm2', T0 + 1000)).toBe(two); // a repeat at the same clock: nothing changes
    expect(t(two, 'm0', T0 + 500)).toBeNull(); // before the latest: an insert
    expect(t(two, 'm3', T0 + 1000)).toBeNull(); // the same time: ordered by messageId
    expect(t(two, 'm3', T0 + 10 * DAY)).toBeNull(); // the first touches now drop by age
    const withConversion = decodeAttributionState(unpackBytes(two, ALL_PLAIN));
    withConversion.addConversion({ id: 'o', at: T0 + 2000, revenue: 1, site: 'shop', customerId: 'u' });
    expect(t(encodePackedAttributionState(withConversion), 'm3', T0 + 3000)).toBeNull();
    // A state restored from the changelog is the same packed bytes.
    expect(t(packBytes(unpackBytes(two, ALL_PLAIN), ALL_PLAIN), 'm3', T0 + 2000)).toBe(t(two, 'm3', T0 + 2000));
  });
});
