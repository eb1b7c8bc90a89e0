import './kafkajs-patches.js';
import { CompressionTypes, type Kafka, type Producer } from 'kafkajs';
import { journeyPartitioner } from './partition-of-key.js';
import type { Component, Health } from '../runtime/component.js';
import { CHANGELOG_MAX_MESSAGE_BYTES } from './admin.js';
import { AppendTooLargeError, isSizeRefusal, KafkaUnavailableError, RecordTooLargeError } from './errors.js';

export interface OutgoingRecord {
  topic: string;
  key: string | null;
  /** null is a tombstone (compacted changelogs). */
  value: Buffer | null;
  headers?: Record<string, string>;
  partition?: number;
}

/**
 * Bytes a record takes in a produce request, at most: key, value and headers uncompressed (UTF-16
 * code units count as up to 3 UTF-8 bytes in keys and headers) plus the record's varint framing, and
 * a share of the batch header. Compression only makes the batch smaller, so a send measured under a
 * limit by this is under it on the wire.
 */
export function recordBytes(r: OutgoingRecord): number {
  let bytes = (r.value?.length ?? 0) + 3 * (r.key?.length ?? 0) + 64;
  if (r.headers) for (const [k, v] of Object.entries(r.headers)) bytes += 3 * (k.length + v.length) + 10;
  return bytes;
}

/**
 * Brokers refuse a record batch over max.message.bytes (the topic's, 1 MiB + 12 by default, as the
 * broker's message.max.bytes; the checked size is the batch as sent, after compression), and kafkajs
 * sends all records of one partition in one request as one batch (groupMessagesPerPartition), with
 * no size check of its own: split sends so no request comes near it.
 */
export const MAX_REQUEST_BYTES = 768 * 1024;

/**
 * The largest single record a send accepts (recordBytes): one that goes alone is one batch well
 * under the broker's limit. A larger one is refused before sending (RecordTooLargeError).
 */
export const MAX_RECORD_BYTES = MAX_REQUEST_BYTES;

/**
 * The bytes of one changelog append (recordBytes): a journey step's state flush with its marker goes
 * as ONE record batch up to this size, so that it is atomic whatever the number of customers it
 * writes (20,000 customers of ~800 bytes are ~16 MB). Changelog topics are created with room for it
 * (admin.ts: `max.message.bytes` CHANGELOG_MAX_MESSAGE_BYTES, and segments larger still, since the
 * broker refuses an append larger than the topic's segment); recordBytes over-counts, so a send
 * measured under this is under the topic's limit on the wire, with room for the batch header.
 */
export const CHANGELOG_MAX_APPEND_BYTES = CHANGELOG_MAX_MESSAGE_BYTES - 1024 * 1024;

/** Errors after which an idempotent producer never recovers by itself. */
const FATAL_IDEMPOTENCE = /out of order sequence|unknown producer|producer.*epoch|fenced/i;

export function chunkBySize(records: OutgoingRecord[], maxBytes = MAX_REQUEST_BYTES): OutgoingRecord[][] {
  const chunks: OutgoingRecord[][] = [];
  let current: OutgoingRecord[] = [];
  let size = 0;
  for (const r of records) {
    const bytes = recordBytes(r);
    if (bytes > MAX_RECORD_BYTES) throw new RecordTooLargeError(`record for ${r.topic} (key ${r.key ?? 'null'}) of ${bytes} bytes is over the ${MAX_RECORD_BYTES}-byte record limit`);
    if (current.length > 0 && size + bytes > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(r);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Where a send's records landed: per `topic:partition` (appendEndKey) that the send addressed by
 * an explicit partition number, the offset after its last record. Partitions chosen by the
 * partitioner are not listed.
 */
export type AppendEnds = ReadonlyMap<string, bigint>;
export const appendEndKey = (topic: string, partition: number): string => `${topic}:${partition}`;

/** The narrow producing port the services use; the Kafka implementation is below. */
export interface RecordProducer {
  /**
   * Resolves once the broker has every record (acks=all); rejects with a retriable error otherwise.
   * Records are sent in order; a send over `maxRequestBytes` (MAX_REQUEST_BYTES unless given; a
   * larger one only for topics created to take it, CHANGELOG_MAX_APPEND_BYTES) goes as several
   * requests, so only a send under that size is one atomic append per partition. Resolves with
   * where the records landed when the implementation knows (the Kafka producer does; test doubles
   * may not).
   */
  send(records: OutgoingRecord[], maxRequestBytes?: number): Promise<AppendEnds | void>;
}

/**
 * Idempotent producer with acks=all: a retried send cannot duplicate or reorder records within a
 * partition. Records are grouped per topic into one sendBatch call.
 */
export function createKafkaProducer(kafka: Kafka, options: { name: string; compression?: boolean }): RecordProducer & Component {
  let producer: Producer | undefined;
  let connected = false;
  let lastError: string | undefined;
  return {
    name: `${options.name}-producer`,
    async start() {
      producer = newProducer();
      await producer.connect();
    },
    async send(records, maxRequestBytes = MAX_REQUEST_BYTES) {
      if (!producer) throw new KafkaUnavailableError('producer not started');
      const ends = new Map<string, bigint>();
      if (records.length === 0) return ends;
      try {
        for (const chunk of chunkBySize(records, maxRequestBytes)) await sendOne(producer, chunk, ends);
        return ends;
      } catch (error) {
        if (error instanceof KafkaUnavailableError && FATAL_IDEMPOTENCE.test(error.message)) await replaceProducer();
        throw error;
      }
    },
    async stop() {
      await producer?.disconnect();
      producer = undefined;
    },
    health(): Health {
      // Informational: kafkajs reconnects on the next send, so an idle producer after a broker
      // restart reads "disconnected" without being broken. Liveness comes from the consumers
      // (stuck = lag without progress) and from sends failing in the request path (503s).
      return { ok: true, details: { connected, lastError } };
    },
  };

  /**
   * After a hard broker restart the broker may have lost this producer's sequence state; kafkajs'
   * idempotent producer then fails every send. A new producer (new producer id) starts clean; the
   * caller retries the send, and records it had already written repeat (deterministic ids).
   */
  async function replaceProducer(): Promise<void> {
    const old = producer;
    producer = newProducer();
    await old?.disconnect().catch(() => undefined);
    await producer.connect();
  }

  function newProducer(): Producer {
      const created = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 5,
        allowAutoTopicCreation: false,
        // Java-compatible murmur2 (kafkajs' v2 default), chosen explicitly: keys land where Kafka Streams would put them.
        createPartitioner: journeyPartitioner,
      });
      created.on(created.events.CONNECT, () => (connected = true));
      created.on(created.events.DISCONNECT, () => (connected = false));
      return created;
  }

  async function sendOne(producer: Producer, records: OutgoingRecord[], ends: Map<string, bigint>): Promise<void> {
      const byTopic = new Map<string, OutgoingRecord[]>();
      const addressed = new Map<string, number>();
      const placed = new Set<string>();
      for (const r of records) {
        const list = byTopic.get(r.topic);
        if (list) list.push(r);
        else byTopic.set(r.topic, [r]);
        if (r.partition === undefined) placed.add(r.topic);
        else {
          const key = appendEndKey(r.topic, r.partition);
          addressed.set(key, (addressed.get(key) ?? 0) + 1);
        }
      }
      try {
        const metadata = await producer.sendBatch({
          acks: -1,
          timeout: 30_000,
          compression: options.compression ? CompressionTypes.GZIP : CompressionTypes.None,
          topicMessages: [...byTopic].map(([topic, list]) => ({
            topic,
            messages: list.map((r) => ({
              key: r.key,
              value: r.value,
              headers: r.headers,
              ...(r.partition !== undefined ? { partition: r.partition } : {}),
            })),
          })),
        });
        lastError = undefined;
        for (const m of metadata) {
          const key = appendEndKey(m.topicName, m.partition);
          const count = addressed.get(key);
          // A topic that also got partitioner-placed records is not listed: its counts are unknown.
          if (count === undefined || placed.has(m.topicName)) continue;
          if (m.baseOffset !== undefined && BigInt(m.baseOffset) >= 0n) ends.set(key, BigInt(m.baseOffset) + BigInt(count));
        }
      } catch (cause) {
        lastError = cause instanceof Error ? cause.message : String(cause);
        if (isSizeRefusal(cause)) throw new AppendTooLargeError(`produce refused as too large: ${lastError}`, { cause });
        throw new KafkaUnavailableError(`produce failed: ${lastError}`, { cause });
      }
  }
}
