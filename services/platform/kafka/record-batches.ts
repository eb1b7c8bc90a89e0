import './kafkajs-patches.js';
import kafkajs from 'kafkajs';

/**
 * A fetch response's record batches read in place, for reads that only want each record's key,
 * value and offset (a restore): kafkajs decodes every record into an object with its offset and
 * timestamp as strings computed through Long, a header object and a Decoder of its own, which was
 * most of a restore's decoding and garbage (docs/performance.md, "Restore: raw record batches").
 *
 * (kafkajs is a CommonJS module whose CompressionCodecs Node cannot import by name: hence the default import.)
 *
 * Record batch (magic 2, the only format Kafka 4 reads and writes):
 *   [i64 base offset][i32 length][i32 leader epoch][i8 magic][u32 crc][i16 attributes]
 *   [i32 last offset delta][i64 first timestamp][i64 max timestamp][i64 producer id]
 *   [i16 producer epoch][i32 base sequence][i32 records] then the records, compressed as a whole
 *   when attributes & 7 is a codec. Record: [varint length][i8 attributes][varlong timestamp delta]
 *   [varint offset delta][varint key length, -1 = null][key][varint value length][value][headers].
 */

/** Bytes of a batch before its records; a batch's length counts from byte 12. */
const BATCH_HEADER = 61;
const LENGTH_END = 12;
const COMPRESSION_MASK = 0x07;
const CONTROL_FLAG = 0x20;

/** One batch of a fetch: its records' bytes (decompressed), where they start, and its offsets. */
export interface RecordBatchView {
  baseOffset: number;
  /** The offset after the batch's last record (compaction may have removed records before it). */
  nextOffset: number;
  /** Transaction markers, not data: never handed on. */
  control: boolean;
  count: number;
  bytes: Buffer;
  start: number;
}

/** Reads a signed 64-bit offset as a number: offsets stay far below 2^53. */
const readOffset = (b: Buffer, at: number): number => b.readInt32BE(at) * 2 ** 32 + b.readUInt32BE(at + 4);

/**
 * The complete record batches of a partition's record set, in order; a batch cut short at the end
 * (a fetch stops at its byte limit mid-batch) is left for the next fetch. Compressed batches are
 * decompressed with kafkajs' codecs (gzip built in; others as registered with kafkajs).
 */
export async function recordBatches(records: Buffer): Promise<RecordBatchView[]> {
  const batches: RecordBatchView[] = [];
  let at = 0;
  while (at + BATCH_HEADER <= records.length) {
    const end = at + LENGTH_END + records.readInt32BE(at + 8);
    if (end > records.length) break;
    const magic = records[at + 16];
    if (magic !== 2) throw new Error(`record batch of magic ${magic} at ${readOffset(records, at)}: only magic 2 is read`);
    const attributes = records.readInt16BE(at + 21);
    const baseOffset = readOffset(records, at);
    const batch: RecordBatchView = {
      baseOffset,
      nextOffset: baseOffset + records.readInt32BE(at + 23) + 1,
      control: (attributes & CONTROL_FLAG) !== 0,
      count: records.readInt32BE(at + 57),
      bytes: records,
      start: at + BATCH_HEADER,
    };
    const codec = attributes & COMPRESSION_MASK;
    if (codec !== 0 && !batch.control && batch.count > 0) {
      const make = (kafkajs.CompressionCodecs as Record<number, (() => { decompress(b: Buffer): Promise<Buffer> }) | undefined>)[codec];
      if (make === undefined) throw new Error(`record batch at ${baseOffset} uses compression codec ${codec}, not registered with kafkajs`);
      batch.bytes = await make().decompress(records.subarray(at + BATCH_HEADER, end));
      batch.start = 0;
    }
    batches.push(batch);
    at = end;
  }
  return batches;
}

/** A varint reader over one batch's bytes (one per batch: no allocation per field). */
class Cursor {
  constructor(
    readonly bytes: Buffer,
    public at: number,
  ) {}

  /** A zigzag varint of at most 32 bits. */
  varint(): number {
    let raw = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.bytes[this.at++]!;
      raw |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80 && shift < 35);
    return (raw >>> 1) ^ -(raw & 1);
  }

  /** Steps over a varint of any length (a timestamp delta, which is not needed). */
  skipVarint(): void {
    while (this.bytes[this.at++]! & 0x80);
  }
}

/**
 * Hands on each data record of `batch` at or after offset `from` and before `to`: its key as a
 * string (utf8; null when absent), its value as a view into the batch's bytes (copy what is kept),
 * its offset. Headers are not read. Returns how many were handed on.
 */
export function forEachRecord(batch: RecordBatchView, from: number, to: number, onRecord: (key: string | null, value: Buffer | null, offset: number) => void): number {
  if (batch.control) return 0;
  const bytes = batch.bytes;
  const c = new Cursor(bytes, batch.start);
  let handed = 0;
  for (let i = 0; i < batch.count; i++) {
    const length = c.varint();
    const end = c.at + length;
    c.at++; // attributes
    c.skipVarint();
    const offset = batch.baseOffset + c.varint();
    if (offset >= to) break;
    if (offset >= from) {
      const keyLength = c.varint();
      const key = keyLength < 0 ? null : bytes.toString('utf8', c.at, c.at + keyLength);
      if (keyLength > 0) c.at += keyLength;
      const valueLength = c.varint();
      const value = valueLength < 0 ? null : bytes.subarray(c.at, c.at + valueLength);
      onRecord(key, value, offset);
      handed++;
    }
    c.at = end;
  }
  return handed;
}

/** The one partition of a fetch response (version 11) of one topic and partition. */
export interface FetchedPartition {
  errorCode: number;
  /** The record set, a view into the response (null: none). */
  records: Buffer | null;
}

/**
 * Fetch response v11, after the correlation id: [i32 throttle][i16 error][i32 session][topics:
 * i32 n × ([i16 name length][name][partitions: i32 n × ([i32 partition][i16 error][i64 high
 * watermark][i64 last stable][i64 log start][aborted: i32 n (-1 null) × 16 bytes][i32 preferred
 * replica][i32 record set bytes (-1 null)][record set])])]. Only the partition asked for is read.
 */
export function fetchedPartitionV11(payload: Buffer, partition: number): FetchedPartition {
  let at = 4;
  const errorCode = payload.readInt16BE(at);
  if (errorCode !== 0) return { errorCode, records: null };
  at += 2 + 4;
  const topics = payload.readInt32BE(at);
  at += 4;
  for (let t = 0; t < topics; t++) {
    at += 2 + payload.readInt16BE(at);
    const partitions = payload.readInt32BE(at);
    at += 4;
    for (let p = 0; p < partitions; p++) {
      const id = payload.readInt32BE(at);
      const partitionError = payload.readInt16BE(at + 4);
      at += 4 + 2 + 8 + 8 + 8;
      const aborted = payload.readInt32BE(at);
      at += 4 + Math.max(0, aborted) * 16 + 4;
      const size = payload.readInt32BE(at);
      at += 4;
      const records = size < 0 ? null : payload.subarray(at, at + size);
      at += Math.max(0, size);
      if (id === partition) return { errorCode: partitionError, records };
    }
  }
  return { errorCode: 0, records: null };
}
