import { describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { identityKey, type Touchpoint } from '../../schemas/touchpoint.js';
import { topicCodecs, type Topics } from '../../schemas/topics.js';
import type { SessionRecord } from '../../schemas/journey.js';
import { createKafkaProducer } from '../../services/platform/kafka/producer.js';
import { decodeCustomerState } from '../../services/sessionizer/customer-state.js';
import { CustomerCodec } from '../../services/sessionizer/core/customer-codec.js';
import { DEFAULT_CUSTOMER_BOUNDS } from '../../services/sessionizer/core/customer-bounds.js';
import { stopAfterEach } from '../support/cleanup.js';
import { waitForDrained } from '../support/drain.js';
import { uniqueGroupId, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, freshRegistry, testKafka } from '../support/pipeline.js';
import { sessionizerGroups, testSessionizer, tp } from '../support/journey-fixtures.js';
import { metric, readAll } from '../support/topic-contents.js';

const MIN = 60_000;
const WHALE_EVENTS = 300_000;
/** The whale's events are this far apart in event time: 300,000 of them span 50 minutes, one session. */
const WHALE_STEP_MS = 10;
const CUSTOMERS = 200;
const EVENTS_PER_CUSTOMER = 5;

/** Produces touchpoints as the collector does (Avro, identity key), in sends of `per` so memory stays flat. */
async function produce(kafka: Kafka, topics: Topics, count: number, touchpointAt: (i: number) => Touchpoint, per = 20_000): Promise<void> {
  const producer = createKafkaProducer(kafka, { name: 'whale-fixture' });
  await producer.start();
  const codec = topicCodecs.touchpoints();
  try {
    for (let from = 0; from < count; from += per) {
      const batch = [];
      for (let i = from; i < Math.min(count, from + per); i++) {
        const t = touchpointAt(i);
        batch.push({ topic: topics.touchpoints, key: identityKey(t), value: codec.encode(t) });
      }
      await producer.send(batch);
    }
  } finally {
    await producer.stop();
  }
}

describe('a whale: one customer with 300,000 events in a row among normal customers', () => {
  const cleanup = stopAfterEach();

  it('keeps its partition processing, every other customer exact, and bounds the whale as README says', async () => {
    const kafka = testKafka('sessionizer-whale');
    const topics = uniqueTopics();
    await createTestTopics(kafka, topics, 2);
    const groupId = uniqueGroupId('whale');
    const registry = freshRegistry();
    const sessionizer = cleanup.started(testSessionizer(kafka, topics, groupId, { registry }));
    await sessionizer.start();

    const t0 = Date.now() - 3 * 60 * MIN;
    // Normal customers: five events a minute apart (one session), half before the whale, half
    // after it (later in event time, so none of them is late behind the whale's events).
    const normal = (first: number, at: number) => (i: number) => {
      const c = first + Math.floor(i / EVENTS_PER_CUSTOMER);
      const k = i % EVENTS_PER_CUSTOMER;
      return tp({ messageId: `n-${c}-${k}`, userId: `normal-${c}`, anonymousId: null, timestamp: at + k * MIN });
    };
    const half = (CUSTOMERS / 2) * EVENTS_PER_CUSTOMER;
    const whale = (i: number) => tp({ messageId: `w-${i}`, userId: 'whale', anonymousId: null, timestamp: t0 + i * WHALE_STEP_MS });
    const afterWhale = t0 + 60 * MIN;
    await produce(kafka, topics, half, normal(0, t0));
    await produce(kafka, topics, WHALE_EVENTS, whale);
    await produce(kafka, topics, half, normal(CUSTOMERS / 2, afterWhale));
    // Redeliveries: every normal customer's last event, the whale's last event (its id is still
    // remembered: a duplicate), and the whale's FIRST event, whose id the dedup bound evicted long
    // ago: not recognised, it is processed again, and being 50 minutes behind, it is late.
    const redelivered = [
      ...Array.from({ length: CUSTOMERS }, (_, c) => normal(c < CUSTOMERS / 2 ? 0 : CUSTOMERS / 2, c < CUSTOMERS / 2 ? t0 : afterWhale)((c % (CUSTOMERS / 2)) * EVENTS_PER_CUSTOMER + EVENTS_PER_CUSTOMER - 1)),
      whale(WHALE_EVENTS - 1),
      whale(0),
    ];
    await produce(kafka, topics, redelivered.length, (i) => redelivered[i]!);

    await waitForDrained(kafka, sessionizerGroups(groupId, topics), 180_000);

    // The latest version of every session.
    const sessions = new Map<string, SessionRecord>();
    const codec = topicCodecs.sessions();
    await readAll(kafka, topics.sessions, (value) => {
      if (value === null) return;
      const s = codec.decode(value);
      const known = sessions.get(s.sessionId);
      if (!known || s.version > known.version) sessions.set(s.sessionId, s);
    });
    const live = [...sessions.values()].filter((s) => s.status !== 'merged');
    const byCustomer = new Map<string, SessionRecord[]>();
    for (const s of live) byCustomer.set(s.customerId, [...(byCustomer.get(s.customerId) ?? []), s]);

    // Every other customer is exact: one session of five events, the redelivery not counted.
    for (let c = 0; c < CUSTOMERS; c++) {
      expect(byCustomer.get(`u:normal-${c}`)?.map((s) => s.eventCount), `normal-${c}`).toEqual([EVENTS_PER_CUSTOMER]);
    }
    // The whale: one session holding every event once (folding early loses no count).
    const whaleSessions = byCustomer.get('u:whale') ?? [];
    expect(whaleSessions.map((s) => [s.eventCount, s.startedAt, s.endedAt])).toEqual([[WHALE_EVENTS, t0, t0 + (WHALE_EVENTS - 1) * WHALE_STEP_MS]]);
    expect(byCustomer.size).toBe(CUSTOMERS + 1);

    // What README says happens at the bounds: the whale, and only it, is flagged; its earliest ids
    // were evicted (so the redelivered first event was not recognised and is late), its events were
    // folded early, and recent repeats are still duplicates.
    expect(await metric(registry, 'sessionizer_bounded_customers_total')).toBe(1);
    // One id evicted per whale event past the bound, and one more for the first event processed again.
    expect(await metric(registry, 'sessionizer_customer_bound_hits_total', { bound: 'dedup_ids' })).toBe(WHALE_EVENTS - DEFAULT_CUSTOMER_BOUNDS.maxRecentIds + 1);
    expect(await metric(registry, 'sessionizer_customer_bound_hits_total', { bound: 'open_events' })).toBeGreaterThan(0);
    // Recent repeats are dropped, by the router's retry window or the customer's dedup ids.
    expect((await metric(registry, 'sessionizer_router_duplicates_total')) + (await metric(registry, 'sessionizer_duplicates_total'))).toBe(CUSTOMERS + 1);
    expect(await metric(registry, 'sessionizer_late_events_total')).toBe(1);

    // Nothing looped: each partition was restored once (a failed state flush restores it again),
    // and the whale's state in the changelog is within the bound and carries the flag.
    expect(await metric(registry, 'sessionizer_restores_total')).toBe(2);
    let whaleState: Buffer | null = null;
    await readAll(kafka, topics.journeyChangelog, (value, key) => {
      if (key === 'u:whale') whaleState = value;
    });
    expect(whaleState).not.toBeNull();
    expect(whaleState!.length).toBeLessThanOrEqual(DEFAULT_CUSTOMER_BOUNDS.maxStateBytes);
    const image = new CustomerCodec().decode(decodeCustomerState(whaleState!).sessions!);
    expect(image.bounded).toBe(true);
    expect(image.recentIds.length / 2).toBe(DEFAULT_CUSTOMER_BOUNDS.maxRecentIds);
    await sessionizer.stop();
  }, 300_000);
});
