import type { Kafka, KafkaMessage } from 'kafkajs';
import { backoffMs, type Backoff } from '../retry/backoff.js';
import { retry, sleepMs, type RetryPolicy } from '../retry/retry.js';

/** The part of kafkajs' internal cluster and broker objects a direct fetch needs (kafkajs 2.2, pinned by the lockfile). */
interface FetchBroker {
  fetch(request: {
    replicaId: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
  }): Promise<{ responses: Array<{ topicName: string; partitions: Array<{ partition: number; highWatermark: string; messages: KafkaMessage[] }> }> }>;
}
interface FetchCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(o: { nodeId: string }): Promise<FetchBroker>;
}

/** Fetch attempts of one offset before the read fails (the caller retries it whole). */
const ATTEMPTS = 5;
/** Between them: 0.1–0.2 s, 0.2–0.4 s, 0.4–0.8 s, 0.8–1.6 s. */
const FETCH_BACKOFF: Backoff = { baseMs: 200, capMs: 1_600 };

/**
 * kafkajs has no manual assignment: its consumers read only as members of a group, and joining one
 * costs a group join, a sync and a leave (about 2 s a read, measured on restarts). Kafka Streams'
 * restore consumer fetches assigned partitions directly; this does the same through kafkajs' own
 * cluster and broker objects (created by the Kafka object's private factory), so a read is a
 * metadata request and fetches.
 */
function createFetchCluster(kafka: Kafka): FetchCluster {
  const factory = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const create = factory && (kafka as unknown as Record<symbol, unknown>)[factory];
  if (typeof create !== 'function') throw new Error('kafkajs internals changed: the Kafka object has no cluster factory (read-range.ts needs kafkajs 2.2)');
  return create({ allowAutoTopicCreation: false }) as FetchCluster;
}

/**
 * Reads offsets [from, to) of one partition and stops; returns how many records it passed on.
 * Offsets a compaction removed are skipped. Errors (the broker away, the leader moved) are retried
 * a few times with fresh metadata, then thrown: the caller retries.
 */
export async function readPartitionRange(
  kafka: Kafka,
  range: { topic: string; partition: number; from: bigint; to: bigint; maxBytesPerPartition?: number },
  onMessage: (message: KafkaMessage) => void,
): Promise<number> {
  const { topic, partition, from, to } = range;
  if (to <= from) return 0;
  const maxBytes = range.maxBytesPerPartition ?? 8 * 1024 * 1024;
  const cluster = createFetchCluster(kafka);
  await cluster.connect();
  let read = 0;
  try {
    await cluster.addTargetTopic(topic);
    let offset = from;
    let emptyAt: bigint | null = null;
    /** One fetch at `at`; a retry first refreshes the metadata (the leader may have moved). */
    const fetchAt = async (at: bigint, attempt: number): Promise<KafkaMessage[]> => {
      if (attempt > 0) await cluster.refreshMetadata().catch(() => undefined);
      const leader = Object.keys(cluster.findLeaderForPartitions(topic, [partition]))[0];
      if (leader === undefined) throw new Error(`no leader for ${topic}[${partition}]`);
      const broker = await cluster.findBroker({ nodeId: leader });
      const response = await broker.fetch({
        replicaId: -1,
        isolationLevel: 1,
        maxWaitTime: 100,
        minBytes: 1,
        maxBytes,
        topics: [{ topic, partitions: [{ partition, fetchOffset: at.toString(), maxBytes }] }],
      });
      return response.responses[0]?.partitions[0]?.messages ?? [];
    };
    const fetchPolicy: RetryPolicy = { delayMs: ({ attempt }) => (attempt + 1 >= ATTEMPTS ? null : backoffMs(attempt, FETCH_BACKOFF, Math.random)), sleep: sleepMs };
    const fetchWithRetries = (at: bigint) =>
      retry((attempt) => fetchAt(at, attempt), fetchPolicy).catch((error: unknown) => {
        throw new Error(`reading ${topic}[${partition}] at ${at} failed: ${(error as Error).message}`, { cause: error });
      });
    /**
     * The next fetch goes out as soon as a response is in, before its records are handed on, so
     * the broker reads while this process decodes and applies: at most two responses are held.
     */
    let ahead: { at: bigint; messages: Promise<KafkaMessage[]> } | null = null;
    while (offset < to) {
      let messages: KafkaMessage[];
      if (ahead !== null && ahead.at === offset) messages = await ahead.messages;
      else messages = await fetchWithRetries(offset);
      ahead = null;
      const lastAt: bigint = messages.length > 0 ? BigInt(messages[messages.length - 1]!.offset) + 1n : offset;
      if (lastAt > offset && lastAt < to) {
        const next = fetchWithRetries(lastAt);
        next.catch(() => undefined); // not awaited if the records end differently; awaited (and thrown) if used
        ahead = { at: lastAt, messages: next };
      }
      const before = offset;
      for (const m of messages) {
        const at = BigInt(m.offset);
        if (at < offset) continue; // a record batch starts before the offset asked for
        if (at >= to) {
          offset = to;
          break;
        }
        onMessage(m);
        read++;
        offset = at + 1n;
      }
      // Nothing at or after the offset twice in a row: a record batch that compaction emptied (kafkajs
      // decodes it to no records and drops its offsets). Step over one offset of it.
      if (offset === before) {
        if (emptyAt === offset) offset++;
        else emptyAt = offset;
      }
    }
    // A fetch still out when the range ended early is left to finish; its result is dropped.
  } finally {
    await cluster.disconnect().catch(() => undefined);
  }
  return read;
}
