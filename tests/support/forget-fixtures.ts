import type { Kafka } from 'kafkajs';
import type { Touchpoint } from '../../schemas/touchpoint.js';
import type { Topics } from '../../schemas/topics.js';
import { readPartitionRange } from '../../services/platform/kafka/read-range.js';
import { hashEmail } from '../../services/platform/segment/email.js';
import { tp } from './journey-fixtures.js';

/** The customer the forget tests delete, by this email (hashed by the source, as the collector does). */
export const EMAIL = 'Alice@Example.com';
export const EMAIL_HASH = hashEmail(EMAIL)!;
/** Every raw form of Alice's ids: none may be left in any table, state store or API answer. */
export const ALICE_RAW = ['alice-1', 'dev-phone', 'dev-laptop', EMAIL_HASH];

/**
 * Alice: a laptop and a phone (two anonymous ids), logged in on both as alice-1 with her email
 * (hashed by the source), in B2B account acme, browsing (first from an email campaign, so her
 * purchase is attributed) and buying. Bob buys in the same minutes, so the funnel aggregates Alice
 * shares with him must come out as Bob's alone. `t0`: the first event's time.
 */
export function aliceAndBob(t0: number): Touchpoint[] {
  const at = (m: number) => ({ timestamp: t0 + m * 60_000, originalTimestamp: t0 + m * 60_000, sentAt: t0 + m * 60_000, receivedAt: t0 + m * 60_000 });
  return [
    tp({ messageId: 'al-1', anonymousId: 'dev-laptop', event: 'Product Viewed', channel: 'email', utmCampaign: 'spring', ...at(0) }),
    tp({ messageId: 'al-2', type: 'identify', event: '', anonymousId: 'dev-laptop', userId: 'alice-1', emailHash: EMAIL_HASH, ...at(1) }),
    tp({ messageId: 'al-3', type: 'group', event: '', anonymousId: 'dev-laptop', userId: 'alice-1', groupId: 'acme', ...at(2) }),
    tp({ messageId: 'al-4', anonymousId: 'dev-phone', event: 'Product Viewed', deviceType: 'mobile', ...at(3) }),
    tp({ messageId: 'al-5', type: 'identify', event: '', anonymousId: 'dev-phone', userId: 'alice-1', ...at(4) }),
    tp({ messageId: 'al-6', anonymousId: 'dev-phone', userId: 'alice-1', event: 'Order Completed', revenue: 40, ...at(5) }),
    tp({ messageId: 'bo-1', anonymousId: null, userId: 'bob-1', event: 'Product Viewed', channel: 'ads', utmCampaign: 'spring', ...at(0) }),
    tp({ messageId: 'bo-2', anonymousId: null, userId: 'bob-1', event: 'Order Completed', revenue: 15, ...at(5) }),
  ];
}

/** Which of Alice's raw ids a text names. */
export function mentions(text: string | Buffer): string[] {
  return ALICE_RAW.filter((id) => text.includes(id));
}

/** Every stored table except funnel_minute (binary aggregate states: checked by value). */
export const FORGET_TABLES = ['touchpoints', 'sessions', 'stage_transitions', 'customer_journey_latest', 'funnel_events', 'churn_scores', 'churn_score_history', 'customer_activity_weekly', 'attribution', 'dead_letters', 'deletions'];

/** The topics the writer reads (what a drain of its group waits for). */
export const writerTopicsOf = (t: Topics) => [t.customerTouchpoints, t.sessions, t.stageTransitions, t.funnelEvents, t.churnScores, t.attribution, t.alerts, t.deadLetter];

/** A compacted topic as a restore reads it: the latest value of each key (tombstones remove it), keyed `<partition>/<key>`. */
export async function latestValues(kafka: Kafka, topic: string, partitions: number): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  for (let p = 0; p < partitions; p++) {
    const high = BigInt(offsets.find((o) => o.partition === p)?.high ?? '0');
    await readPartitionRange(kafka, { topic, partition: p, from: 0n, to: high }, (m) => {
      const key = m.key?.toString('utf8') ?? '';
      if (m.value) out.set(`${p}/${key}`, m.value);
      else out.delete(`${p}/${key}`);
    });
  }
  return out;
}
