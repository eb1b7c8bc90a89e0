import { createRequire } from 'node:module';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { backoffMs, type Backoff } from '../retry/backoff.js';
import { retry, sleepMs, type RetryPolicy } from '../retry/retry.js';
import { fetchedPartitionV11, forEachRecord, recordBatches, type RecordBatchView } from './record-batches.js';

interface FetchRequest {
  replicaId: number;
  isolationLevel: number;
  maxWaitTime: number;
  minBytes: number;
  maxBytes: number;
  topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
}
/** A request as kafkajs' protocol modules build it, with the response's decoder. */
interface Protocol {
  request: { apiVersion: number };
  response: { decode(payload: Buffer): Promise<unknown>; parse(data: unknown): Promise<unknown> };
  requestTimeout?: number;
}
/** The part of kafkajs' internal cluster and broker objects a direct fetch needs (kafkajs 2.2, pinned by the lockfile). */
interface FetchBroker {
  fetch(request: FetchRequest): Promise<{ responses: Array<{ topicName: string; partitions: Array<{ partition: number; highWatermark: string; messages: KafkaMessage[] }> }> }>;
  /** The request builder of the highest version both sides speak (set once the broker is connected). */
  lookupRequest(apiKey: number, definitions: unknown): (request: FetchRequest) => Protocol;
  connectionPool: { send(protocol: Protocol): Promise<unknown> };
  disconnect(): Promise<void>;
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

/** The kafkajs protocol module of Fetch requests, and its api key (internal, as the cluster factory above). */
const kafkajsInternals = createRequire(import.meta.url);
const FETCH_API_KEY = 1;
const fetchDefinitions = (kafkajsInternals('kafkajs/src/protocol/requests/index.js') as { requests: { Fetch: unknown } }).requests.Fetch;
const { createErrorFromCode } = kafkajsInternals('kafkajs/src/protocol/error.js') as { createErrorFromCode(code: number): Error };

export interface RangeOptions {
  topic: string;
  partition: number;
  from: bigint;
  to: bigint;
  maxBytesPerPartition?: number;
  /**
   * After each response's records are handed on: a promise to wait for before the next is handed
   * on (the consumer of the records is behind, a disk say), or undefined.
   */
  pace?: () => Promise<void> | undefined;
}

/**
 * One read of a range: how a fetch at an offset is made, where its records end (so the next fetch
 * can go out before they are handed on), and the handing on of those in [from, to).
 */
interface RangeReader<T> {
  fetch(broker: FetchBroker, request: FetchRequest): Promise<T>;
  /** The offset after the last record of the response (`at` when it has none). */
  endOf(fetched: T, at: bigint): bigint;
  /** Hands on the records in [from, to); returns how many, and the offset to read from next. */
  hand(fetched: T, from: bigint, to: bigint): { handed: number; next: bigint };
}

/**
 * Reads offsets [from, to) of one partition and stops; returns how many records it passed on.
 * Offsets a compaction removed are skipped. Errors (the broker away, the leader moved) are retried
 * a few times with fresh metadata, then thrown: the caller retries.
 */
export function readPartitionRange(
  kafka: Kafka,
  range: RangeOptions,
  onMessage: (message: KafkaMessage) => void,
): Promise<number> {
  return readRange<KafkaMessage[]>(kafka, range, {
    fetch: async (broker, request) => {
      const response = await broker.fetch(request);
      return response.responses[0]?.partitions[0]?.messages ?? [];
    },
    endOf: (messages, at) => (messages.length > 0 ? BigInt(messages[messages.length - 1]!.offset) + 1n : at),
    hand(messages, from, to) {
      let handed = 0;
      let next = from;
      for (const m of messages) {
        const at = BigInt(m.offset);
        if (at < next) continue; // a record batch starts before the offset asked for
        if (at >= to) return { handed, next: to };
        onMessage(m);
        handed++;
        next = at + 1n;
      }
      return { handed, next };
    },
  });
}

/**
 * Reads offsets [from, to) of one partition as `readPartitionRange`, handing on only each record's
 * key (utf8), value (a view into the fetch response: copy what is kept) and offset: the record
 * batches are read in place (record-batches.ts), not decoded by kafkajs into message objects.
 * For a restore, which reads whole changelogs and needs nothing else. Control records (transaction
 * markers) are not handed on; records of aborted transactions are (as readPartitionRange does: the
 * pipeline writes no transactions).
 */
export function readPartitionRecords(
  kafka: Kafka,
  range: RangeOptions,
  onRecord: (key: string | null, value: Buffer | null, offset: number) => void,
): Promise<number> {
  return readRange<RecordBatchView[]>(kafka, range, {
    fetch: async (broker, request) => {
      const protocol = broker.lookupRequest(FETCH_API_KEY, fetchDefinitions)(request);
      // Another version's response has another layout. Every broker since Kafka 2.3 speaks v11,
      // the highest kafkajs has (this pipeline runs Kafka 4).
      if (protocol.request.apiVersion !== 11) throw new Error(`readPartitionRecords reads fetch responses of version 11; the broker offers ${protocol.request.apiVersion}`);
      let fetched: { errorCode: number; records: Buffer | null };
      try {
        fetched = (await broker.connectionPool.send({
          ...protocol,
          response: { decode: async (payload) => fetchedPartitionV11(payload, range.partition), parse: async (data) => data },
        })) as typeof fetched;
      } catch (error) {
        // As kafkajs' own requests do: a closed connection is dropped, so the retry reconnects.
        if ((error as Error).name === 'KafkaJSConnectionClosedError') await broker.disconnect();
        throw error;
      }
      if (fetched.errorCode !== 0) throw createErrorFromCode(fetched.errorCode);
      return fetched.records === null ? [] : recordBatches(fetched.records);
    },
    endOf: (batches, at) => (batches.length > 0 ? BigInt(batches[batches.length - 1]!.nextOffset) : at),
    hand(batches, from, to) {
      let handed = 0;
      let next = Number(from);
      const end = Number(to);
      for (const batch of batches) {
        if (batch.nextOffset <= next) continue; // before the offset asked for
        if (batch.baseOffset >= end) break;
        handed += forEachRecord(batch, next, end, onRecord);
        next = Math.min(batch.nextOffset, end);
      }
      return { handed, next: BigInt(next) };
    },
  });
}

async function readRange<T>(kafka: Kafka, range: RangeOptions, reader: RangeReader<T>): Promise<number> {
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
    const fetchAt = async (at: bigint, attempt: number): Promise<T> => {
      if (attempt > 0) await cluster.refreshMetadata().catch(() => undefined);
      const leader = Object.keys(cluster.findLeaderForPartitions(topic, [partition]))[0];
      if (leader === undefined) throw new Error(`no leader for ${topic}[${partition}]`);
      const broker = await cluster.findBroker({ nodeId: leader });
      return reader.fetch(broker, {
        replicaId: -1,
        isolationLevel: 1,
        maxWaitTime: 100,
        minBytes: 1,
        maxBytes,
        topics: [{ topic, partitions: [{ partition, fetchOffset: at.toString(), maxBytes }] }],
      });
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
    let ahead: { at: bigint; fetched: Promise<T> } | null = null;
    while (offset < to) {
      let fetched: T;
      if (ahead !== null && ahead.at === offset) fetched = await ahead.fetched;
      else fetched = await fetchWithRetries(offset);
      ahead = null;
      const lastAt = reader.endOf(fetched, offset);
      if (lastAt > offset && lastAt < to) {
        const next = fetchWithRetries(lastAt);
        next.catch(() => undefined); // not awaited if the records end differently; awaited (and thrown) if used
        ahead = { at: lastAt, fetched: next };
      }
      const before = offset;
      const { handed, next } = reader.hand(fetched, offset, to);
      read += handed;
      offset = next;
      const behind = range.pace?.();
      if (behind !== undefined) await behind;
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
