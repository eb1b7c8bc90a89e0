import type { Codec } from '../../../schemas/codec.js';
import type { JourneyRecord } from '../../../schemas/journey.js';
import type { Topics } from '../../../schemas/topics.js';
import type { OutgoingRecord } from '../../platform/kafka/producer.js';
import { forgottenIdHash, type ForgottenIdEntry } from '../../platform/privacy/forgotten-ids.js';
import { forgetMarkerKey } from '../../platform/privacy/forget-marker.js';

/**
 * What a deletion tells the pipeline, in the order it must be read:
 * 1. `forgotten-ids`: one entry per id (hash → entry), the suppression list the collector follows
 *    and the replay guard the writer restores at start;
 * 2. `identity-links`, in ONE append: the same entries as forget markers, then a tombstone for each
 *    id's link. Every router's identity table reads them in this order with the links: it drops the
 *    touchpoints of these ids from the marker on (so no link can bring them back), then forgets the
 *    component, and compaction removes the links for good;
 * 3. `identified-touchpoints`: a `forget` record per id to its owner, which drops the customer's
 *    state (sessions, journey, forwards) and writes tombstones to its changelog at the next flush.
 */
export function forgetRecords(topics: Topics, recordCodec: Codec<JourneyRecord>, ids: readonly string[], entry: ForgottenIdEntry) {
  const value = Buffer.from(JSON.stringify(entry));
  const hashes = ids.map(forgottenIdHash);
  const suppression: OutgoingRecord[] = hashes.map((h) => ({ topic: topics.forgottenIds, key: h, value }));
  const identity: OutgoingRecord[] = [
    ...hashes.map((h) => ({ topic: topics.identityLinks, key: forgetMarkerKey(h), value })),
    ...ids.map((id) => ({ topic: topics.identityLinks, key: id, value: null })),
  ];
  const journey: OutgoingRecord[] = ids.map((id) => ({
    topic: topics.identifiedTouchpoints,
    key: id,
    value: recordCodec.encode({ kind: 'forget', customerId: id, touchpoint: null, mergeInto: null, mergedFrom: null, state: null }),
  }));
  return { suppression, identity, journey };
}
