/**
 * Record bundles: many keyed records bound for one topic-partition travel as ONE Kafka record.
 *
 * Why: kafkajs' cost is per record on both ends (an encoder and its buffers, varint framing,
 * partitioning and CRC work per record when producing; an object with key, value, headers and
 * offset per record when fetching), and the journey step writes ~4 records per touchpoint to the
 * topics the writer reads. A bundle pays that once for hundreds of records. Bundles go only to
 * topics that are not compacted (compaction keeps one record per Kafka key), and the members of a
 * bundle are exactly the records a plain send would have put on that partition, in their order,
 * so per-key order and placement are what they were.
 *
 * Wire format (version 1), all integers unsigned LEB128 varints:
 *   header `jp-bundle: 1` on the Kafka record (its key is null, its partition explicit);
 *   value = count, then per member: key length + 1 (0: null key), key UTF-8 bytes,
 *           value length + 1 (0: null value, a tombstone), value bytes.
 * A record without the header is a plain record (one member: itself). Members carry no headers.
 *
 * A consumer handles a bundle as one input offset: all of its members, in order, before the next
 * offset (see `membersOf`); a bundle is never partly processed and then committed.
 */
import type { KafkaMessage } from 'kafkajs';

export const BUNDLE_HEADER = 'jp-bundle';
const BUNDLE_VERSION = '1';

/** One member of a bundle, as a plain record would have carried it. */
export interface BundleMember {
  key: string | null;
  value: Buffer | null;
}

/** A member as read back: key and value are views into the bundle's bytes. */
export interface ReadMember {
  key: Buffer | null;
  value: Buffer | null;
}

const varintSize = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);

function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[at++] = n;
  return at;
}

/** Bytes `encodeBundle` makes of these members (for sizing a bundle before building it). */
export function memberBytes(member: BundleMember): number {
  const keyBytes = member.key === null ? 0 : Buffer.byteLength(member.key, 'utf8');
  const valueBytes = member.value === null ? 0 : member.value.length;
  return varintSize(keyBytes + 1) + keyBytes + varintSize(valueBytes + 1) + valueBytes;
}

/** One allocation, exactly sized; keys are written straight into it. */
export function encodeBundle(members: readonly BundleMember[]): Buffer {
  let size = varintSize(members.length);
  for (const m of members) size += memberBytes(m);
  const buf = Buffer.allocUnsafe(size);
  let at = writeVarint(buf, 0, members.length);
  for (const m of members) {
    if (m.key === null) at = writeVarint(buf, at, 0);
    else {
      const keyBytes = Buffer.byteLength(m.key, 'utf8');
      at = writeVarint(buf, at, keyBytes + 1);
      at += buf.write(m.key, at, keyBytes, 'utf8');
    }
    if (m.value === null) at = writeVarint(buf, at, 0);
    else {
      at = writeVarint(buf, at, m.value.length + 1);
      at += m.value.copy(buf, at);
    }
  }
  return buf;
}

export class MalformedBundleError extends Error {
  readonly retriable = false;
}

/**
 * The members of a bundle, in order; their values are views into `bytes` (no copy). Throws
 * MalformedBundleError on a truncated or inconsistent bundle.
 */
export function decodeBundle(bytes: Buffer): ReadMember[] {
  let at = 0;
  const readVarint = (): number => {
    let n = 0;
    let shift = 0;
    for (;;) {
      if (at >= bytes.length) throw new MalformedBundleError(`bundle truncated at byte ${at} of ${bytes.length}`);
      const b = bytes[at++]!;
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
      shift += 7;
      if (shift > 28) throw new MalformedBundleError(`bad varint at byte ${at}`);
    }
  };
  const take = (length: number): Buffer => {
    if (at + length > bytes.length) throw new MalformedBundleError(`member of ${length} bytes runs past the bundle's ${bytes.length} bytes`);
    const slice = bytes.subarray(at, at + length);
    at += length;
    return slice;
  };
  const count = readVarint();
  // Each member takes at least two bytes: a count beyond that is corruption, not a huge allocation.
  if (count > bytes.length) throw new MalformedBundleError(`bundle claims ${count} members in ${bytes.length} bytes`);
  const members: ReadMember[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const keyLength = readVarint();
    const key = keyLength === 0 ? null : take(keyLength - 1);
    const valueLength = readVarint();
    members[i] = { key, value: valueLength === 0 ? null : take(valueLength - 1) };
  }
  if (at !== bytes.length) throw new MalformedBundleError(`${bytes.length - at} bytes after the last of ${count} members`);
  return members;
}

export const isBundle = (message: Pick<KafkaMessage, 'headers'>): boolean => {
  const h = message.headers?.[BUNDLE_HEADER];
  return h !== undefined && String(h) === BUNDLE_VERSION;
};

export const bundleHeaders = (): Record<string, string> => ({ [BUNDLE_HEADER]: BUNDLE_VERSION });

/**
 * The records a fetched Kafka record stands for: itself when plain, else its members, each as a
 * KafkaMessage with the bundle's offset and timestamp (and no headers). Throws MalformedBundleError
 * for a bundle that cannot be read: the caller dead-letters the Kafka record as a whole.
 */
export function membersOf(message: KafkaMessage): KafkaMessage[] {
  if (!isBundle(message)) return [message];
  if (!message.value) throw new MalformedBundleError('bundle without a value');
  const { offset, timestamp, attributes } = message;
  return decodeBundle(message.value).map((m) => ({ offset, timestamp, attributes, key: m.key, value: m.value, headers: {} }));
}
