import { describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { CHANGELOG_MIN_COMPACTION_LAG_MS, ensureTopics } from './admin.js';

/** An admin that has no topics and records what it is asked to create. */
function recordingKafka() {
  const created: Array<{ topic: string; configEntries: Array<{ name: string; value: string }> }> = [];
  const admin = {
    connect: async () => {},
    disconnect: async () => {},
    listTopics: async () => [],
    createTopics: async (o: { topics: typeof created }) => void created.push(...o.topics),
    fetchTopicOffsets: async () => [{ partition: 0, offset: '0', high: '0', low: '0' }],
  };
  return { kafka: { admin: () => admin } as unknown as Kafka, created };
}

describe('ensureTopics', () => {
  it('keeps a compacted topic’s records out of the cleaner for the compaction lag, so a rolled-back step finds its committed values', async () => {
    const { kafka, created } = recordingKafka();
    await ensureTopics(kafka, [
      { topic: 'changelog', partitions: 4, compacted: true },
      { topic: 'events', partitions: 4, retentionMs: 1_000 },
    ]);
    const configOf = (topic: string) => Object.fromEntries(created.find((t) => t.topic === topic)!.configEntries.map((e) => [e.name, e.value]));
    expect(configOf('changelog')).toMatchObject({ 'cleanup.policy': 'compact', 'min.compaction.lag.ms': String(CHANGELOG_MIN_COMPACTION_LAG_MS) });
    expect(CHANGELOG_MIN_COMPACTION_LAG_MS).toBe(15 * 60_000);
    expect(configOf('events')).toEqual({ 'retention.ms': '1000' });
  });
});
