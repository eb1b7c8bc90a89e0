/**
 * Kafka's murmur2 (the Java client's Utils.murmur2, which kafkajs' DefaultPartitioner copies), on
 * 32-bit integer arithmetic with Math.imul: the same hash as kafkajs' version, which builds a Long
 * object per multiplication (a tenth of the journey step's allocations went there). Keys are hashed
 * as their UTF-8 bytes; ASCII keys are read from the string without a Buffer.
 */
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

const ASCII = /^[\x00-\x7f]*$/;

/**
 * One hash, two readers: an ASCII string is read by char code, anything else as its UTF-8 bytes.
 * The two loops are written out rather than sharing a reader closure: a closure per call was ~400
 * bytes of garbage per journey event (three to four keyed records each; docs/performance.md).
 */
export function murmur2(key: string | Buffer): number {
  if (typeof key === 'string') return ASCII.test(key) ? murmur2Ascii(key) : murmur2Bytes(Buffer.from(key, 'utf8'));
  return murmur2Bytes(key);
}

function murmur2Ascii(key: string): number {
  const length = key.length;
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    h = mix(h, key.charCodeAt(i4) | (key.charCodeAt(i4 + 1) << 8) | (key.charCodeAt(i4 + 2) << 16) | (key.charCodeAt(i4 + 3) << 24));
  }
  const tail = length & ~3;
  switch (length & 3) {
    case 3:
      h ^= key.charCodeAt(tail + 2) << 16;
    // falls through
    case 2:
      h ^= key.charCodeAt(tail + 1) << 8;
    // falls through
    case 1:
      h ^= key.charCodeAt(tail);
      h = Math.imul(h, M);
  }
  return finish(h);
}

function murmur2Bytes(key: Buffer): number {
  const length = key.length;
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
