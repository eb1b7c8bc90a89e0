import { createRequire } from 'node:module';
import { crc32c } from './crc32c.js';

/**
 * The Produce request (versions 3-7 share it) as kafkajs 2.2 builds it, written into one buffer
 * sized in advance. kafkajs builds every record in its own growing Encoder (a zero-filled 512-byte
 * buffer, grown by copies), then the batch, partition, topic and request in further growing
 * Encoders, each copying the last, and checksums the batch a byte at a time: ~10 µs of CPU per
 * 800-byte record, and for a 16 MB batch (a journey step's flush in one append) about 100 MB of
 * buffers that make V8 run extra full collections. Byte for byte the same request (a property test
 * holds it to kafkajs' own encoder), for what the pipeline sends: uncompressed batches of records
 * without their own timestamps. Anything else goes to kafkajs' encoder (`fastProduceApplies`).
 */

const require = createRequire(import.meta.url);
type KafkajsLong = { getHighBits(): number; getLowBits(): number };
const Long = require('kafkajs/src/utils/long') as { fromValue(v: unknown): KafkajsLong; fromInt(v: number): KafkajsLong };
/** What kafkajs' `Encoder` is to its callers: `buf` and `offset` (the bytes written are buf[0, offset)). */
const Encoder = require('kafkajs/src/protocol/encoder') as new (initialSize?: number) => { buf: Buffer; offset: number };

type Bytes = Buffer | string | null | undefined;
export interface ProduceMessage {
  key?: Bytes;
  value?: Bytes;
  headers?: Record<string, Bytes | Bytes[]> | null;
  timestamp?: unknown;
}
export interface ProduceRequestArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: Array<{ topic: string; partitions: Array<{ partition: number; firstSequence?: number; messages: ProduceMessage[] }> }>;
}

/** Uncompressed, and no message carries a timestamp of its own (kafkajs then stamps the batch with the send's time). */
export function fastProduceApplies(args: ProduceRequestArgs): boolean {
  if ((args.compression ?? 0) !== 0) return false;
  for (const t of args.topicData) for (const p of t.partitions) for (const m of p.messages) if (m.timestamp != null) return false;
  return true;
}

const zigzag = (n: number) => (n << 1) ^ (n >> 31);
/** Bytes of an unsigned varint. */
function uvarintSize(u: number): number {
  let bytes = 1;
  while ((u & 0xffffff80) !== 0) {
    bytes++;
    u >>>= 7;
  }
  return bytes;
}
function writeUVarInt(buf: Buffer, at: number, u: number): number {
  while ((u & 0xffffff80) !== 0) {
    buf[at++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  buf[at++] = u & 0x7f;
  return at;
}
const varintSize = (n: number) => uvarintSize(zigzag(n));
const writeVarInt = (buf: Buffer, at: number, n: number) => writeUVarInt(buf, at, zigzag(n));

/** Length in bytes as kafkajs measures what it writes (a Buffer as is, anything else as UTF-8 text). */
const byteLength = (v: Buffer | string) => (Buffer.isBuffer(v) ? v.length : Buffer.byteLength(String(v), 'utf8'));
const varIntBytesSize = (v: Bytes) => (v == null ? 1 : varintSize(byteLength(v)) + byteLength(v));
function writeVarIntBytes(buf: Buffer, at: number, v: Bytes): number {
  if (v == null) return writeVarInt(buf, at, -1);
  if (Buffer.isBuffer(v)) {
    at = writeVarInt(buf, at, v.length);
    v.copy(buf, at);
    return at + v.length;
  }
  const text = String(v);
  const length = Buffer.byteLength(text, 'utf8');
  at = writeVarInt(buf, at, length);
  buf.write(text, at, length, 'utf8');
  return at + length;
}

/** kafkajs' header list: one entry per value, a key with an array of values once per value. */
function headerList(headers: ProduceMessage['headers']): Array<[string, Bytes]> {
  if (!headers) return [];
  return Object.keys(headers).flatMap((k) => {
    const v = headers[k];
    return Array.isArray(v) ? v.map((x): [string, Bytes] => [k, x]) : [[k, v] as [string, Bytes]];
  });
}

interface SizedRecord {
  message: ProduceMessage;
  headers: Array<[string, Bytes]>;
  /** The record's body (after its length varint). */
  body: number;
}

function sizeRecord(message: ProduceMessage, offsetDelta: number): SizedRecord {
  const headers = headerList(message.headers);
  let headerBytes = varintSize(headers.length);
  for (const [k, v] of headers) headerBytes += varIntBytesSize(k) + varIntBytesSize(v);
  // attributes, timestamp delta 0 (one byte), offset delta, key, value, headers
  const body = 1 + 1 + varintSize(offsetDelta) + varIntBytesSize(message.key) + varIntBytesSize(message.value) + headerBytes;
  return { message, headers, body };
}

const BATCH_BODY_HEADER = 2 + 4 + 8 + 8 + 8 + 2 + 4;
/** partitionLeaderEpoch, magic, crc */
const BATCH_PREFIX = 4 + 1 + 4;

function writeInt64(buf: Buffer, at: number, value: unknown): number {
  const long = Long.fromValue(value);
  buf.writeInt32BE(long.getHighBits(), at);
  buf.writeInt32BE(long.getLowBits(), at + 4);
  return at + 8;
}

/** The request's bytes (what kafkajs' `encode()` puts in its Encoder), `now` the send's time. */
export function encodeProduceRequest(args: ProduceRequestArgs, now: () => number = Date.now): Buffer {
  const transactionalId = args.transactionalId ?? null;
  const producerId = args.producerId ?? Long.fromInt(-1);
  const producerEpoch = args.producerEpoch ?? 0;
  const attributes = transactionalId ? 16 : 0;
  const topics = args.topicData.map((t) => ({
    topic: t.topic,
    partitions: t.partitions.map((p) => {
      const records = p.messages.map((m, i) => sizeRecord(m, i));
      let recordBytes = 4;
      for (const r of records) recordBytes += uvarintSize(zigzag(r.body)) + r.body;
      const batchBytes = BATCH_PREFIX + BATCH_BODY_HEADER + recordBytes;
      return { ...p, records, batchBytes };
    }),
  }));
  let size = (transactionalId === null ? 2 : 2 + Buffer.byteLength(transactionalId, 'utf8')) + 2 + 4 + 4;
  for (const t of topics) {
    size += 2 + Buffer.byteLength(t.topic, 'utf8') + 4;
    // partition, the record batch's size, firstOffset, the batch's length, the batch
    for (const p of t.partitions) size += 4 + 4 + 8 + 4 + p.batchBytes;
  }
  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  if (transactionalId === null) at = buf.writeInt16BE(-1, at);
  else {
    const length = Buffer.byteLength(transactionalId, 'utf8');
    at = buf.writeInt16BE(length, at);
    at += buf.write(transactionalId, at, length, 'utf8');
  }
  at = buf.writeInt16BE(args.acks, at);
  at = buf.writeInt32BE(args.timeout, at);
  at = buf.writeInt32BE(topics.length, at);
  for (const t of topics) {
    const length = Buffer.byteLength(t.topic, 'utf8');
    at = buf.writeInt16BE(length, at);
    at += buf.write(t.topic, at, length, 'utf8');
    at = buf.writeInt32BE(t.partitions.length, at);
    for (const p of t.partitions) {
      // kafkajs reads the clock once per partition: both batch timestamps, every delta 0.
      const timestamp = now();
      at = buf.writeInt32BE(p.partition, at);
      at = buf.writeInt32BE(8 + 4 + p.batchBytes, at);
      at = writeInt64(buf, at, 0);
      at = buf.writeInt32BE(p.batchBytes, at);
      at = buf.writeInt32BE(0, at); // partitionLeaderEpoch
      at = buf.writeInt8(2, at); // magic
      const crcAt = at;
      at += 4;
      const bodyAt = at;
      at = buf.writeInt16BE(attributes, at);
      at = buf.writeInt32BE(p.records.length - 1, at);
      at = writeInt64(buf, at, timestamp);
      at = writeInt64(buf, at, timestamp);
      at = writeInt64(buf, at, producerId);
      at = buf.writeInt16BE(producerEpoch, at);
      at = buf.writeInt32BE(p.firstSequence ?? 0, at);
      at = buf.writeInt32BE(p.records.length, at);
      for (let i = 0; i < p.records.length; i++) {
        const r = p.records[i]!;
        at = writeVarInt(buf, at, r.body);
        buf[at++] = 0; // attributes
        buf[at++] = 0; // timestamp delta 0, a one-byte varlong
        at = writeVarInt(buf, at, i);
        at = writeVarIntBytes(buf, at, r.message.key);
        at = writeVarIntBytes(buf, at, r.message.value);
        at = writeVarInt(buf, at, r.headers.length);
        for (const [k, v] of r.headers) {
          at = writeVarIntBytes(buf, at, k);
          at = writeVarIntBytes(buf, at, v);
        }
      }
      buf.writeUInt32BE(crc32c(buf, bodyAt, at), crcAt);
    }
  }
  if (at !== size) throw new Error(`produce request sized ${size} bytes, written ${at}`);
  return buf;
}

/** A kafkajs Encoder holding `bytes`, as `encode()` must resolve to. */
export function encoderOf(bytes: Buffer): { buf: Buffer; offset: number } {
  const encoder = new Encoder(0);
  encoder.buf = bytes;
  encoder.offset = bytes.length;
  return encoder;
}
