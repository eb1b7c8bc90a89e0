import { packInto, unpackFrom } from './packed-bytes.js';

/**
 * Many small byte strings, packed as packed-bytes.ts packs them (zero runs after a plain prefix),
 * side by side in shared slabs outside V8's heap, each named by a number (its ref) a Map can hold
 * as a small integer. Against one packed string each: no heap object per entry, so a restore of a
 * million customers neither allocates a million strings nor has the young-generation GC copy each
 * of them twice on its way to the old space, and an entry costs its 4-byte length, not a 16-byte
 * string header.
 *
 * An entry is [u32 LE packed length][packed bytes], 4-byte aligned; its ref is its slab's index ×
 * (slab bytes / 4) + its offset / 4 (a small integer up to 4 GiB of 1 MiB slabs; past that a
 * heap number, still exact). An entry longer than a slab gets a slab of its own. A freed entry's
 * bytes stay where they are until `compact` copies the live entries into new slabs; the holder
 * decides when (`wasteful`) and gives the new refs to its keys.
 */
export class PackedArena {
  private slabs: Buffer[] = [];
  /** Bytes taken in the last slab. */
  private used = 0;
  private liveBytes = 0;
  private deadBytes = 0;
  private readonly units: number;

  constructor(private readonly slabBytes = 1 << 20) {
    if (slabBytes % 4 !== 0 || slabBytes < 64) throw new Error(`slab bytes must be a multiple of 4, at least 64: ${slabBytes}`);
    this.units = slabBytes / 4;
  }

  /** Packs `bytes` (the first `plain` kept as they are, readable in place) and returns its ref. */
  add(bytes: Uint8Array, plain: number): number {
    const { slab, at, ref } = this.room(4 + 2 * bytes.length);
    const end = packInto(bytes, 0, bytes.length, plain, slab, at + 4);
    slab.writeUInt32LE(end - at - 4, at);
    this.take(end - at);
    return ref;
  }

  /**
   * As `add` of `bytes` with `from`..`to` replaced by the one byte `standIn` (`plain` counts in the
   * bytes so spliced), without building them first: one copy less, and no views.
   */
  addSpliced(bytes: Uint8Array, plain: number, from: number, to: number, standIn: number): number {
    const { slab, at, ref } = this.room(4 + 2 * (bytes.length + 1));
    let end = packInto(bytes, 0, from, plain, slab, at + 4);
    slab[end++] = standIn;
    // A zero stand-in past the plain prefix is a run of one, as packInto writes it.
    if (standIn === 0 && from >= plain) slab[end++] = 1;
    end = packInto(bytes, to, bytes.length, Math.max(0, plain - from - 1), slab, end);
    slab.writeUInt32LE(end - at - 4, at);
    this.take(end - at);
    return ref;
  }

  /** The bytes of entry `ref` again, exactly, in a new buffer (`plain` as given to `add`). */
  unpack(ref: number, plain: number): Buffer {
    const { slab, at } = this.locate(ref);
    const start = at + 4;
    const end = start + slab.readUInt32LE(at);
    return unpackFrom(slab, start, end, plain) ?? Buffer.from(slab.subarray(start, end));
  }

  /** Byte `offset` of entry `ref`, within its plain prefix. */
  byte(ref: number, offset: number): number {
    const { slab, at } = this.locate(ref);
    return slab[at + 4 + offset]!;
  }

  /** The little-endian float64 at `offset` of entry `ref`, within its plain prefix. */
  float64LE(ref: number, offset: number): number {
    const { slab, at } = this.locate(ref);
    return slab.readDoubleLE(at + 4 + offset);
  }

  /** Entry `ref` is no longer held: its bytes count as waste until the next `compact`. */
  free(ref: number): void {
    const { slab, at } = this.locate(ref);
    const bytes = aligned(4 + slab.readUInt32LE(at));
    this.liveBytes -= bytes;
    this.deadBytes += bytes;
  }

  /**
   * Whether freed entries take more than half the live ones' room (and at least 8 slabs): time to
   * `compact`. So the arena holds at most ~1.5 times its live bytes, and a compaction, which copies
   * every live entry (~1.2 CPU-µs each, measured at load 40), comes after at least half as many
   * were freed: ~2.4 CPU-µs per entry freed, against the decode (or removal) that freed it.
   */
  wasteful(): boolean {
    return this.deadBytes > this.liveBytes / 2 && this.deadBytes >= 8 * this.slabBytes;
  }

  /**
   * Copies every live entry into new slabs, dropping the old ones: `relocate` must call `move` once
   * with each ref still held and hold the ref it returns instead; a ref not moved is gone after.
   */
  compact(relocate: (move: (ref: number) => number) => void): void {
    const old = this.slabs;
    const oldUnits = this.units;
    this.slabs = [];
    this.used = 0;
    this.liveBytes = 0;
    this.deadBytes = 0;
    relocate((ref) => {
      const from = old[Math.floor(ref / oldUnits)]!;
      const at = (ref % oldUnits) * 4;
      const bytes = 4 + from.readUInt32LE(at);
      const to = this.room(bytes);
      from.copy(to.slab, to.at, at, at + bytes);
      this.take(bytes);
      return to.ref;
    });
  }

  stats(): { slabs: number; liveBytes: number; deadBytes: number } {
    return { slabs: this.slabs.length, liveBytes: this.liveBytes, deadBytes: this.deadBytes };
  }

  /** Where an entry of at most `bytes` goes: the last slab's free end, or a new slab. */
  private room(bytes: number): { slab: Buffer; at: number; ref: number } {
    let slab = this.slabs.at(-1);
    // Against slabBytes, not the slab's length: an entry's offset stays within slabBytes (its ref
    // would name the next slab otherwise), so an oversized slab takes its one entry.
    if (slab === undefined || this.used + bytes > this.slabBytes) {
      slab = Buffer.allocUnsafeSlow(Math.max(this.slabBytes, aligned(bytes)));
      this.slabs.push(slab);
      this.used = 0;
    }
    return { slab, at: this.used, ref: (this.slabs.length - 1) * this.units + this.used / 4 };
  }

  /** The last slab's next `bytes` are taken (by the entry `room` placed). */
  private take(bytes: number): void {
    const n = aligned(bytes);
    this.used += n;
    this.liveBytes += n;
  }

  private locate(ref: number): { slab: Buffer; at: number } {
    return { slab: this.slabs[Math.floor(ref / this.units)]!, at: (ref % this.units) * 4 };
  }
}

const aligned = (n: number) => (n + 3) & ~3;
