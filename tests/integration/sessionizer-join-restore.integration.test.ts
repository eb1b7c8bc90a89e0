import { describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { stopAfterEach } from '../support/cleanup.js';
import { waitForDrained } from '../support/drain.js';
import { eventually } from '../support/eventually.js';
import { uniqueGroupId, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, freshRegistry, testKafka } from '../support/pipeline.js';
import { produceTouchpoints, sessionizerGroups, testSessionizer, tp } from '../support/journey-fixtures.js';
import { metric } from '../support/topic-contents.js';

const CUSTOMERS = 40;

/** Records per partition of a topic, by partition. */
async function recordsByPartition(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  return offsets.sort((a, b) => a.partition - b.partition).map((o) => Number(o.high) - Number(o.low));
}

describe('a new instance joining the group', () => {
  const cleanup = stopAfterEach();

  it('restores only the partitions it is given, not the whole changelog', async () => {
    const kafka = testKafka('sessionizer-join-restore');
    const topics = uniqueTopics();
    await createTestTopics(kafka, topics, 2);
    const groupId = uniqueGroupId('join');
    const first = cleanup.started(testSessionizer(kafka, topics, groupId));
    await first.start();
    const t0 = Date.now() - 60_000;
    const round = (n: number) => produceTouchpoints(kafka, topics, Array.from({ length: CUSTOMERS }, (_, i) => tp({ messageId: `j-${n}-${i}`, userId: `join-${i}`, anonymousId: null, timestamp: t0 + n })));
    await round(0);
    await waitForDrained(kafka, sessionizerGroups(groupId, topics), 120_000);
    // Every customer's state is in the changelog, on both of its partitions.
    const perPartition = await eventually(() => recordsByPartition(kafka, topics.journeyChangelog), (n) => n.every((x) => x > 0) && n.reduce((a, b) => a + b, 0) >= CUSTOMERS, 60_000, 200, 'the changelog written');

    const registry = freshRegistry();
    const joiner = cleanup.started(testSessionizer(kafka, topics, groupId, { registry }));
    await joiner.start();
    // A partition is restored before its first batch (consumer.ts): events for every customer,
    // again until the rebalance has given the joiner its share and it has had a batch of it.
    let rounds = 0;
    await eventually(
      async () => (await round(++rounds), metric(registry, 'sessionizer_restores_total')),
      (n) => n >= 1,
      120_000,
      2_000,
      'the joiner restored',
    );
    await waitForDrained(kafka, sessionizerGroups(groupId, topics), 120_000);

    // One partition of two, read from the changelog (no local copy): its records, not the other's.
    expect(await metric(registry, 'sessionizer_restores_total', { base: 'changelog' })).toBe(1);
    const read = await metric(registry, 'sessionizer_restored_changelog_records_total');
    const now = await recordsByPartition(kafka, topics.journeyChangelog);
    expect(now.some((n, p) => read >= perPartition[p]! && read <= n)).toBe(true);
    expect(read).toBeLessThan(now.reduce((a, b) => a + b, 0));
    await joiner.stop();
    await first.stop();
  }, 300_000);
});
