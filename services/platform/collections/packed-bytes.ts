/**
 * Bytes kept as a one-byte (latin1) string, one character per byte: the cheapest way V8 holds a
 * small immutable byte string. A string is one heap object (a 16-byte header before its bytes),
 * where a Buffer costs a typed-array object and a separate backing store, and a slice of a
 * consumer's fetch buffer would keep the whole fetch alive. Stores that keep many customers
 * encoded until first access (a restore) hold them this way.
 */
export type PackedBytes = string;

/** Copies the bytes (the source may be a view into a larger buffer). */
export function packBytes(bytes: Uint8Array): PackedBytes {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** The bytes again, exactly: a new buffer. */
export function unpackBytes(packed: PackedBytes): Buffer {
  return Buffer.from(packed, 'latin1');
}

const scratch = new DataView(new ArrayBuffer(8));

/** The little-endian float64 at `offset`, read without unpacking the rest. */
export function packedFloat64LE(packed: PackedBytes, offset: number): number {
  for (let i = 0; i < 8; i++) scratch.setUint8(i, packed.charCodeAt(offset + i));
  return scratch.getFloat64(0, true);
}
