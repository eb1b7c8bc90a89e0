/**
 * Bytes kept as a one-byte (latin1) string: the cheapest way V8 holds a small immutable byte
 * string. A string is one heap object (a 16-byte header before its bytes), where a Buffer costs a
 * typed-array object and a separate backing store, and a slice of a consumer's fetch buffer would
 * keep the whole fetch alive. The attribution store keeps its customers this way; the journeys,
 * a million of them at a restore, go into a PackedArena (the same packing, no string each).
 *
 * After its first `plain` bytes (kept as they are, so fields there can be read in place) a run of
 * zero bytes is kept as two characters, 0 and the run's length (1–255): encoded state is mostly
 * fixed-width fields at zero (a journey of the `state` bench, 357 bytes, packs to about 224). A
 * lone zero costs two characters, so bytes without zeros cost nothing more and random bytes about
 * 0.4% more.
 */
export type PackedBytes = string;

/**
 * As `plain`: every byte kept as it is (the string is the bytes in latin1), for a holder that reads
 * or appends to the bytes in place (the attribution state, attribution-state-append.ts).
 */
export const ALL_PLAIN = Number.POSITIVE_INFINITY;

let scratch = Buffer.allocUnsafe(4096);

/** Copies the bytes (the source may be a view into a larger buffer); the first `plain` stay readable in place. */
export function packBytes(bytes: Uint8Array, plain = 0): PackedBytes {
  if (scratch.length < 2 * bytes.length) scratch = Buffer.allocUnsafe(2 * bytes.length);
  return scratch.toString('latin1', 0, packInto(bytes, 0, bytes.length, plain, scratch, 0));
}

/**
 * The packing itself (packBytes' and PackedArena's): writes `bytes` from `start` to `end`, the
 * first `plain` of them as they are, packed to `out` from `at`, which must have room for twice as
 * many; returns where they end. Runs are self-delimiting, so ranges packed one after the other
 * unpack as the bytes one after the other.
 */
export function packInto(bytes: Uint8Array, start: number, end: number, plain: number, out: Uint8Array, at: number): number {
  let i = start;
  let o = at;
  for (const head = Math.min(start + plain, end); i < head; i++) out[o++] = bytes[i]!;
  while (i < end) {
    const b = bytes[i++]!;
    out[o++] = b;
    if (b !== 0) continue;
    let run = 1;
    while (i < end && run < 255 && bytes[i] === 0) {
      run++;
      i++;
    }
    out[o++] = run;
  }
  return o;
}

/** The bytes again, exactly: a new buffer (`plain` as given to packBytes). */
export function unpackBytes(packed: PackedBytes, plain = 0): Buffer {
  const raw = Buffer.from(packed, 'latin1');
  if (plain >= raw.length) return raw; // all plain (ALL_PLAIN, or a state no longer than its prefix): no run to look for
  return unpackFrom(raw, 0, raw.length, plain) ?? raw;
}

/**
 * The bytes packed in `raw` from `start` to `end` again, in a new buffer; null when they hold no
 * zero run (then they are the bytes themselves).
 */
export function unpackFrom(raw: Uint8Array, start: number, end: number, plain: number): Buffer | null {
  let n = 0;
  let runs = 0;
  for (let i = start; i < end; ) {
    if (i - start >= plain && raw[i] === 0) {
      n += raw[i + 1]!;
      i += 2;
      runs++;
    } else {
      n++;
      i++;
    }
  }
  if (runs === 0) return null;
  const out = Buffer.alloc(n); // zero-filled: runs are skipped over
  let o = 0;
  for (let i = start; i < end; ) {
    if (i - start >= plain && raw[i] === 0) {
      o += raw[i + 1]!;
      i += 2;
    } else out[o++] = raw[i++]!;
  }
  return out;
}

const float = new DataView(new ArrayBuffer(8));

/** The little-endian float64 at `offset`, read without unpacking the rest (within the `plain` bytes). */
export function packedFloat64LE(packed: PackedBytes, offset: number): number {
  for (let i = 0; i < 8; i++) float.setUint8(i, packed.charCodeAt(offset + i));
  return float.getFloat64(0, true);
}
