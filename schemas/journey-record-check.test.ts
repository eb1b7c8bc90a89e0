import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JourneyRecord } from './journey.js';
import { wellFormedJourneyRecord } from './journey-record-check.js';
import { topicCodecs } from './topics.js';

const touchpoint = {
  messageId: 'm-1', type: 'track', event: 'Product Viewed', anonymousId: 'a-1', userId: null, previousId: null, groupId: null, emailHash: null,
  source: 'web', site: 'shop', channel: 'web', timestamp: 1_700_000_000_000, originalTimestamp: null, sentAt: 1_700_000_000_100, receivedAt: 1_700_000_000_200,
  url: 'https://shop.example/p/1', path: '/p/1', referrer: null, utmSource: null, utmMedium: null, utmCampaign: null, deviceType: 'desktop', deviceId: null,
  segment: null, revenue: 12.5, properties: '{}',
};
const customerTouchpoint = { customerId: 'a:a-1', accountId: null, sessionId: 's-1', late: false, touchpoint };
const none = { touchpoint: null, mergeInto: null, mergedFrom: null, state: null, source: 0, sourceWatermark: 1_700_000_000_000, inputOffset: null };
/** One valid record of every kind, as the pipeline writes them. */
const valid: Record<string, Record<string, unknown>> = {
  touchpoint: { kind: 'touchpoint', customerId: 'a:a-1', ...none, touchpoint: customerTouchpoint },
  merge: { kind: 'merge', customerId: 'a:a-1', ...none, mergeInto: 'u:1' },
  absorbing: { kind: 'absorbing', customerId: 'u:1', ...none, mergedFrom: 'a:a-1' },
  transfer: { kind: 'transfer', customerId: 'u:1', ...none, mergedFrom: 'a:a-1', state: Buffer.from([1, 2]) },
  watermark: { kind: 'watermark', customerId: '', ...none },
  forget: { kind: 'forget', customerId: 'u:1', ...none },
};

const odd = [undefined, null, '', 'x', 'a:a-1', 'u:1', 0, -1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, true, [], {}, Buffer.from([1]), new Uint8Array([1]), 'purchase', 'page', 'ads', 'mobile', 'tv'];
/** Where a value can be changed: a field of the envelope, of its customer touchpoint, or of the touchpoint. */
type Path = [] | ['touchpoint'] | ['touchpoint', 'touchpoint'];
const places: Array<[Path, string]> = [
  ...['kind', 'customerId', ...Object.keys(none), 'extra'].map((k): [Path, string] => [[], k]),
  ...[...Object.keys(customerTouchpoint), 'extra'].map((k): [Path, string] => [['touchpoint'], k]),
  ...[...Object.keys(touchpoint), 'extra'].map((k): [Path, string] => [['touchpoint', 'touchpoint'], k]),
];
/** A copy of `record` with `value` at `path`.`field` (a path through a non-object changes nothing). */
function withValue(record: Record<string, unknown>, [path, field]: [Path, string], value: unknown): Record<string, unknown> {
  if (path.length === 0) return { ...record, [field]: value };
  const inner = record[path[0]];
  if (typeof inner !== 'object' || inner === null) return record;
  return { ...record, [path[0]]: withValue(inner as Record<string, unknown>, [path.slice(1) as Path, field], value) };
}
/** A valid record of any kind with up to three of its values changed to anything a decoder or a bug might give. */
const envelope = fc
  .tuple(fc.constantFrom(...Object.keys(valid)), fc.array(fc.tuple(fc.constantFrom(...places), fc.constantFrom(...odd)), { maxLength: 3 }))
  .map(([kind, changes]) => changes.reduce((record, [place, value]) => withValue(record, place, value), valid[kind]!));

describe('wellFormedJourneyRecord (the fast path of the journey-record codec)', () => {
  it('accepts exactly what the zod type accepts', () => {
    fc.assert(
      fc.property(envelope, (record) => {
        expect(wellFormedJourneyRecord(record)).toBe(JourneyRecord.safeParse(record).success);
      }),
      { numRuns: 20_000 },
    );
  });

  it('takes every kind as the codec decodes it (the fast path is the common path)', () => {
    const codec = topicCodecs.identifiedTouchpoints();
    for (const record of Object.values(valid)) {
      const decoded = codec.decode(codec.encode(record as JourneyRecord));
      expect(wellFormedJourneyRecord(decoded)).toBe(true);
    }
  });

  it('leaves a record that does not fit its kind to zod, which words the reason', () => {
    const codec = topicCodecs.identifiedTouchpoints();
    const bytes = codec.encode({ ...valid.merge, mergeInto: 'a:a-1' } as JourneyRecord);
    expect(() => codec.decode(bytes)).toThrow(/'merge' record: mergeInto: a customer cannot be merged into itself/);
  });
});
