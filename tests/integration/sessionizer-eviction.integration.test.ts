import { describe, expect, it } from 'vitest';
import { topicCodecs } from '../../schemas/topics.js';
import { EVENTS } from '../../schemas/event-names.js';
import { DEFAULT_EVICTION_LIMITS } from '../../services/sessionizer/idle-eviction.js';
import { stopAfterEach } from '../support/cleanup.js';
import { waitForDrained } from '../support/drain.js';
import { eventually } from '../support/eventually.js';
import { uniqueGroupId, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, freshRegistry, testKafka } from '../support/pipeline.js';
import { produceTouchpoints, sessionizerGroups, testSessionizer, tp } from '../support/journey-fixtures.js';
import { metric, readAll } from '../support/topic-contents.js';

const DAY = 86_400_000;
const IDLE = DEFAULT_EVICTION_LIMITS.customerIdleMs;
/** Customers active alongside, on both touchpoints partitions, so each source's watermark moves. */
const OTHERS = 12;

describe('eviction of an idle customer, by event time (README: Known limits)', () => {
  const cleanup = stopAfterEach();

  it('a customer evicted after the idle time leaves a tombstone, and coming back after a restart starts from scratch', async () => {
    const kafka = testKafka('sessionizer-eviction');
    const topics = uniqueTopics();
    await createTestTopics(kafka, topics, 2);
    const groupId = uniqueGroupId('evict');
    const registry = freshRegistry();
    const first = cleanup.started(testSessionizer(kafka, topics, groupId, { registry }));
    await first.start();

    // Event time long before the wall clock: the sources are a replay, moved by their events only.
    const t0 = Date.now() - 2 * IDLE;
    const others = (tag: string, at: number) => Array.from({ length: OTHERS }, (_, i) => tp({ messageId: `${tag}-${i}`, userId: `other-${i}`, anonymousId: null, timestamp: at }));
    await produceTouchpoints(kafka, topics, [
      tp({ messageId: 'gone-1', userId: 'gone', anonymousId: null, event: EVENTS.orderCompleted, timestamp: t0 }),
      ...others('early', t0 + 60_000),
    ]);
    await waitForDrained(kafka, sessionizerGroups(groupId, topics), 120_000);

    // The others come back a day after the idle time: every source's watermark passes it.
    await produceTouchpoints(kafka, topics, others('late', t0 + IDLE + DAY));
    await waitForDrained(kafka, sessionizerGroups(groupId, topics), 120_000);
    const latest = async () => {
      const values = new Map<string, Buffer | null>();
      await readAll(kafka, topics.journeyChangelog, (value, key) => values.set(key, value));
      return values;
    };
    const changelog = await eventually(latest, (v) => v.has('u:gone') && v.get('u:gone') === null, 60_000, 500, 'the tombstone of u:gone');
    // The others came back after the idle time too: each was evicted by its own event, which then
    // started it again (its latest value is not a tombstone); `gone` was evicted by the round.
    expect([...changelog].filter(([key, value]) => key.startsWith('u:') && value === null).map(([key]) => key)).toEqual(['u:gone']);
    expect(await metric(registry, 'sessionizer_customers_evicted_total', { how: 'idle' })).toBe(1);
    expect(await metric(registry, 'sessionizer_customers_evicted_total', { how: 'returned' })).toBe(OTHERS);
    await first.stop();

    // A new instance restores from the changelog (no local copy): `gone` is not brought back.
    const second = cleanup.started(testSessionizer(kafka, topics, groupId));
    await second.start();
    await produceTouchpoints(kafka, topics, [tp({ messageId: 'gone-2', userId: 'gone', anonymousId: null, event: EVENTS.productViewed, timestamp: t0 + IDLE + 2 * DAY })]);
    await waitForDrained(kafka, sessionizerGroups(groupId, topics), 120_000);

    // Its return starts from scratch: a first journey from no stage (its purchase is forgotten).
    // Kept, a purchaser viewing a product would move nowhere.
    const codec = topicCodecs.stageTransitions();
    const transitions: string[] = [];
    await readAll(kafka, topics.stageTransitions, (value) => {
      const t = value === null ? null : codec.decode(value);
      if (t?.customerId === 'u:gone') transitions.push(`${t.fromStage ?? '-'}>${t.toStage} #${t.journeyNumber} +${Math.round((t.at - t0) / DAY)}d`);
    });
    expect(transitions).toEqual(['->purchase #1 +0d', `->consideration #1 +${IDLE / DAY + 2}d`]);
    await second.stop();
  }, 300_000);
});
