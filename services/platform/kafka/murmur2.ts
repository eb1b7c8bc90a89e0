/**
 * Kafka's murmur2 (the Java client's Utils.murmur2, which kafkajs' DefaultPartitioner copies), on
 * 32-bit integer arithmetic with Math.imul: the same hash as kafkajs' version, which builds a Long
 * object per multiplication (a tenth of the journey step's allocations went there). Keys are hashed
 * as their UTF-8 bytes.
 */
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Where a string key's UTF-8 bytes are written to be hashed: grown for a longer key, never shrunk. */
let scratch = Buffer.allocUnsafe(256);

/**
 * A string key is hashed as its UTF-8 bytes, written into one reused buffer: no Buffer and no reader
 * closure per key (a closure per call was ~400 bytes of garbage per journey event, three to four
 * keyed records each; docs/performance.md).
 */
export function murmur2(key: string | Buffer): number {
  if (typeof key !== 'string') return murmur2Bytes(key, key.length);
  if (key.length * 3 > scratch.length) scratch = Buffer.allocUnsafe(key.length * 3);
  return murmur2Bytes(scratch, scratch.write(key, 0, 'utf8'));
}

function murmur2Bytes(key: Buffer, length: number): number {
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    h = mix(h, key[i4]! | (key[i4 + 1]! << 8) | (key[i4 + 2]! << 16) | (key[i4 + 3]! << 24));
  }
  const tail = length & ~3;
  switch (length & 3) {
    case 3:
      h ^= key[tail + 2]! << 16;
    // falls through
    case 2:
      h ^= key[tail + 1]! << 8;
    // falls through
    case 1:
      h ^= key[tail]!;
      h = Math.imul(h, M);
  }
  return finish(h);
}

function mix(h: number, k: number): number {
  k = Math.imul(k, M);
  k ^= k >>> 24;
  k = Math.imul(k, M);
  return Math.imul(h, M) ^ k;
}

function finish(h: number): number {
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a keyed record among `partitions`, as Kafka's default partitioner places it. */
export const partitionOfHash = (key: string | Buffer, partitions: number): number => (murmur2(key) & 0x7fffffff) % partitions;
