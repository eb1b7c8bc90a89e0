import { describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { CHANGELOG_MAX_MESSAGE_BYTES, CHANGELOG_MIN_COMPACTION_LAG_MS, compactedFloorsToRaise, ensureTopics } from './admin.js';
import { CHANGELOG_MAX_APPEND_BYTES } from './producer.js';

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

  it('creates compacted topics to take a flush as one batch: max.message.bytes above the append limit, segments above that', async () => {
    const { kafka, created } = recordingKafka();
    await ensureTopics(kafka, [{ topic: 'changelog', partitions: 4, compacted: true }]);
    const config = Object.fromEntries(created[0]!.configEntries.map((e) => [e.name, Number(e.value)]));
    expect(config['max.message.bytes']).toBe(CHANGELOG_MAX_MESSAGE_BYTES);
    expect(CHANGELOG_MAX_APPEND_BYTES).toBeLessThan(config['max.message.bytes']!);
    expect(config['segment.bytes']).toBeGreaterThan(config['max.message.bytes']!);
  });
});

describe('compactedFloorsToRaise', () => {
  const entry = (configName: string, configValue: string, configSource: number) => ({ configName, configValue, configSource });

  it('raises what is below a floor and keeps the topic’s own settings (AlterConfigs replaces them all)', () => {
    const raised = compactedFloorsToRaise([
      entry('cleanup.policy', 'compact', 1),
      entry('min.cleanable.dirty.ratio', '0.2', 1),
      entry('segment.bytes', String(16 * 1024 * 1024), 1),
      entry('max.message.bytes', '1048588', 5),
      entry('min.compaction.lag.ms', String(CHANGELOG_MIN_COMPACTION_LAG_MS), 1),
      entry('retention.bytes', '-1', 5),
    ]);
    expect(Object.fromEntries(raised!.map((e) => [e.name, e.value]))).toEqual({
      'cleanup.policy': 'compact',
      'min.cleanable.dirty.ratio': '0.2',
      'segment.bytes': String(64 * 1024 * 1024),
      'max.message.bytes': String(CHANGELOG_MAX_MESSAGE_BYTES),
      'min.compaction.lag.ms': String(CHANGELOG_MIN_COMPACTION_LAG_MS),
    });
  });

  it('leaves a topic at or above every floor alone, whoever set it higher', () => {
    expect(
      compactedFloorsToRaise([
        entry('max.message.bytes', String(2 * CHANGELOG_MAX_MESSAGE_BYTES), 1),
        entry('segment.bytes', String(1024 * 1024 * 1024), 4),
        entry('min.compaction.lag.ms', String(CHANGELOG_MIN_COMPACTION_LAG_MS), 1),
      ]),
    ).toBeNull();
  });
});
