import './kafkajs-patches.js';
import kafkajs, { type Admin, type ConfigEntries, type Kafka } from 'kafkajs';
import { retry, sleepMs, type RetryPolicy } from '../retry/retry.js';

// kafkajs is CommonJS and its enums are not among the names Node finds for ES imports.
const { ConfigResourceTypes, ConfigSource } = kafkajs;

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Changelogs are compacted: the latest state per key is all a restore needs. */
  compacted?: boolean;
  retentionMs?: number;
}

/** How long a changelog record stays out of the cleaner's reach (see the topic configs below). */
export const CHANGELOG_MIN_COMPACTION_LAG_MS = 15 * 60_000;

/**
 * The largest record batch a changelog takes (`max.message.bytes`): a journey step's flush goes as
 * one batch up to CHANGELOG_MAX_APPEND_BYTES (producer.ts), below this. Its segments are larger
 * still: the broker refuses an append larger than the topic's `segment.bytes` (RECORD_LIST_TOO_LARGE).
 */
export const CHANGELOG_MAX_MESSAGE_BYTES = 32 * 1024 * 1024;
const CHANGELOG_SEGMENT_BYTES = 64 * 1024 * 1024;

/**
 * What every compacted topic is created with, and what `ensureTopics` brings an existing one up to.
 * Each is a floor: a topic set higher by its operator keeps its value.
 */
export const COMPACTED_TOPIC_FLOORS: ReadonlyArray<{ name: string; value: number }> = [
  // A flush of any size the journey step makes is one batch, so it is all or nothing.
  { name: 'max.message.bytes', value: CHANGELOG_MAX_MESSAGE_BYTES },
  { name: 'segment.bytes', value: CHANGELOG_SEGMENT_BYTES },
  // A step too large even for one append goes as several, its marker last; a crash between them
  // leaves records after the last marker, which a restore rolls back to the values committed before
  // them (changelog.ts). Unless those newer records are older than this, the cleaner cannot drop a
  // committed value for them: without it, a committed value compacted away rolled back to nothing,
  // and the customer's state was lost (a 1M fault run: 125 and 707 sessions differing, nearly all on
  // the partitions that rolled a step back). A restart within this time of the crash finds every
  // committed value.
  { name: 'min.compaction.lag.ms', value: CHANGELOG_MIN_COMPACTION_LAG_MS },
];

/**
 * Creates the topics that do not exist yet. Existing topics keep their partitions and settings,
 * except that a compacted one below a COMPACTED_TOPIC_FLOORS value is raised to it (a changelog
 * created by an older version: its flushes would be refused as too large, or its rollbacks could
 * find committed values compacted away).
 */
export async function ensureTopics(kafka: Kafka, specs: TopicSpec[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    await raiseCompactedFloors(admin, specs.filter((s) => s.compacted && existing.has(s.topic)).map((s) => s.topic));
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
                // segment: segments that roll within a minute keep a restore (the recovery time after
                // a crash) near the size of the state, not of the traffic since the last roll. The
                // price is more cleaner work on the broker.
                { name: 'cleanup.policy', value: 'compact' },
                { name: 'min.cleanable.dirty.ratio', value: '0.2' },
                { name: 'segment.ms', value: '60000' },
                ...COMPACTED_TOPIC_FLOORS.map(({ name, value }) => ({ name, value: String(value) })),
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
 * The settings to give a compacted topic whose configuration is `entries` (DescribeConfigs), or null
 * when it is at every floor. AlterConfigs replaces a topic's whole configuration, so the list holds
 * the topic's own settings (source TOPIC_CONFIG) besides the raised ones.
 */
export function compactedFloorsToRaise(entries: ReadonlyArray<Pick<ConfigEntries, 'configName' | 'configValue' | 'configSource'>>): Array<{ name: string; value: string }> | null {
  const valueOf = new Map(entries.map((e) => [e.configName, e.configValue]));
  const raised = COMPACTED_TOPIC_FLOORS.filter(({ name, value }) => !(Number(valueOf.get(name)) >= value));
  if (raised.length === 0) return null;
  const raisedNames = new Set(raised.map((f) => f.name));
  return [
    ...entries.filter((e) => e.configSource === ConfigSource.TOPIC_CONFIG && !raisedNames.has(e.configName)).map((e) => ({ name: e.configName, value: e.configValue })),
    ...raised.map(({ name, value }) => ({ name, value: String(value) })),
  ];
}

async function raiseCompactedFloors(admin: Admin, topics: string[]): Promise<void> {
  if (topics.length === 0) return;
  const described = await admin.describeConfigs({ includeSynonyms: false, resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })) });
  const resources = described.resources.flatMap((r) => {
    const configEntries = compactedFloorsToRaise(r.configEntries);
    return configEntries ? [{ type: ConfigResourceTypes.TOPIC, name: r.resourceName, configEntries }] : [];
  });
  if (resources.length > 0) await admin.alterConfigs({ validateOnly: false, resources });
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
