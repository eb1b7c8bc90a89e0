import type { Kafka } from 'kafkajs';
import { retry, sleepMs, type RetryPolicy } from '../retry/retry.js';

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Changelogs are compacted: the latest state per key is all a restore needs. */
  compacted?: boolean;
  retentionMs?: number;
}

/** How long a changelog record stays out of the cleaner's reach (see the topic configs below). */
export const CHANGELOG_MIN_COMPACTION_LAG_MS = 15 * 60_000;

/** Creates the topics that do not exist yet; existing topics are left as they are. */
export async function ensureTopics(kafka: Kafka, specs: TopicSpec[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return;
    // Not kafkajs' waitForLeaders: its wait retries only LEADER_NOT_AVAILABLE, and a broker that
    // just started answers UNKNOWN_TOPIC_OR_PARTITION for a moment. waitUntilServed retries both.
    await admin.createTopics({
      waitForLeaders: false,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: -1,
        configEntries: [
          ...(s.compacted
            ? [
                // A restore reads the whole partition, and the cleaner never touches the active
                // segment: small segments that roll within a minute keep a restore (the recovery
                // time after a crash) near the size of the state, not of the traffic since the
                // last roll. The price is more cleaner work on the broker.
                { name: 'cleanup.policy', value: 'compact' },
                { name: 'min.cleanable.dirty.ratio', value: '0.2' },
                { name: 'segment.bytes', value: String(16 * 1024 * 1024) },
                { name: 'segment.ms', value: '60000' },
                // A step too large for one append goes as several, its marker last; a crash between
                // them leaves records after the last marker, which a restore rolls back to the values
                // committed before them (changelog.ts). Unless those newer records are older than this,
                // the cleaner cannot drop a committed value for them: without it, a committed value
                // compacted away rolled back to nothing, and the customer's state was lost (a 1M fault
                // run: 125 and 707 sessions differing, nearly all on the partitions that rolled a step back).
                // A restart within this time of the crash finds every committed value.
                { name: 'min.compaction.lag.ms', value: String(CHANGELOG_MIN_COMPACTION_LAG_MS) },
              ]
            : []),
          ...(s.retentionMs ? [{ name: 'retention.ms', value: String(s.retentionMs) }] : []),
        ],
      })),
    });
    await waitUntilServed(admin, missing.map((s) => s.topic));
  } catch (error) {
    // Another instance may have created the same topic a moment earlier: that is success.
    if (!(error instanceof Error && /already exists/i.test(error.message))) throw error;
  } finally {
    await admin.disconnect();
  }
}

/**
 * KRaft propagates new partitions to the broker's metadata cache a moment after CreateTopics
 * answers; until then ListOffsets fails with UNKNOWN_TOPIC_OR_PARTITION. Wait for it here so callers
 * never see a half-created topic.
 */
async function waitUntilServed(admin: ReturnType<Kafka['admin']>, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const untilDeadline: RetryPolicy = { delayMs: () => (Date.now() > deadline ? null : 100), sleep: sleepMs };
  for (const topic of topics) await retry(() => admin.fetchTopicOffsets(topic), untilDeadline);
}

/** How many partitions `topic` has (it must exist). */
export async function partitionCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const count = metadata.topics[0]?.partitions.length ?? 0;
    if (count === 0) throw new Error(`topic ${topic} has no partitions`);
    return count;
  } finally {
    await admin.disconnect();
  }
}
