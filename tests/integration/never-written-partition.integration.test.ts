import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { stopAfterEach } from '../support/cleanup.js';
import { waitForDrained } from '../support/drain.js';
import { eventually } from '../support/eventually.js';
import { uniqueGroupId, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, testKafka } from '../support/pipeline.js';
import { finalSessions, produceTouchpoints, sessionizerGroups, testSessionizer, testWriter, tp, type SessionRowView } from '../support/journey-fixtures.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

/**
 * A touchpoints partition nothing was ever written to is never fetched, so the router's consumer
 * never prepares it and its idle ticks (where the router says a partition is empty) never come
 * (docs/history-lane.md, "A live partition never written"). While the other partition replays
 * (its events trail the wall clock by days), the journey step then waited for the unheard one, and
 * its clock never moved: no session closed.
 */
describe('a touchpoints partition never written (real broker, embedded ClickHouse)', () => {
  let db: TestDatabase;
  let kafka: Kafka;
  const cleanup = stopAfterEach();
  beforeAll(async () => {
    db = await freshDatabase('neverwritten');
    kafka = testKafka('never-written-it');
  });
  afterAll(async () => db.drop());

  it('does not stop the clock while the other partition replays: sessions close by the replay’s own time', async () => {
    const topics = uniqueTopics();
    await createTestTopics(kafka, topics, 2);
    const groupId = uniqueGroupId('neverwritten');
    const writer = cleanup.started(testWriter(kafka, topics, db.ch));
    await writer.start();
    const sessionizer = cleanup.started(testSessionizer(kafka, topics, groupId));
    await sessionizer.start();
    // One customer (one key, so one partition of two): two sessions two days ago, three hours apart.
    const t0 = Date.now() - 2 * 24 * HOUR;
    const event = (id: string, at: number) => tp({ messageId: id, userId: 'replayed', anonymousId: null, timestamp: at, receivedAt: at });
    await produceTouchpoints(kafka, topics, [event('nw-1', t0), event('nw-2', t0 + MIN), event('nw-3', t0 + 3 * HOUR)]);
    const mine = (s: SessionRowView[]) => s.filter((r) => r.customer_id === 'u:replayed');
    // The first session closes once the clock passes its end + gap + grace: by the replay's time,
    // which needs the empty partition left out of the least.
    await eventually(
      () => finalSessions(db.ch.client, db.database),
      (s) => mine(s).some((r) => r.ended_ms === t0 + MIN && r.status === 'closed'),
      60_000,
      200,
      'the first session closed',
    );
    await waitForDrained(kafka, [...sessionizerGroups(groupId, topics), writer.group]);
    const sessions = mine(await finalSessions(db.ch.client, db.database)).map((r) => `${r.event_count} ${r.ended_ms - t0} ${r.status}`).sort();
    expect(sessions).toEqual([`1 ${3 * HOUR} opened`, `2 ${MIN} closed`]);
    await sessionizer.stop();
    await writer.stop();
  });
});
