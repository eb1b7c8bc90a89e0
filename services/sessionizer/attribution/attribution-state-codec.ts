import type { PackedBytes } from '../../platform/collections/packed-bytes.js';
import { CustomerAttribution, REF } from './attribution-state.js';

/**
 * The attribution part of a customer's changelog value (and merge transfer), written on every change
 * of the customer: compact on purpose.
 *
 * Format 1: [0x01]
 *   clock                                 zig-zag varint (epoch ms)
 *   strings: count, then each as varint byte length + UTF-8   (channels, campaigns, sites, customer
 *                                         ids, each once per customer; referred to by index)
 *   touches: count, then each: time − previous time (the first: − clock) zig-zag varint,
 *            channel index, campaign index + 1 (0 = none), site index, messageId (length + UTF-8)
 *   conversions: count, then each: time − clock zig-zag varint, site index, customer index,
 *            revenue (0 = none, 1 + float64 LE), messageId (length + UTF-8)
 * A touch of a week-old journey costs about 45 bytes with a 36-character messageId.
 * Decoding fails loudly (AttributionStateError) on another format, a cut value or trailing bytes.
 */
export const FORMAT = 0x01;

export class AttributionStateError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'AttributionStateError';
  }
}

/**
 * Writes into one scratch buffer shared by every encode (single-threaded; grown when a state needs
 * more) and copies the result out once: a state is encoded for every changed customer at every
 * flush, so no per-encode buffer, map or array is allocated but the result.
 */
let scratch = Buffer.allocUnsafe(16 * 1024);

/** Also used by attribution-state-append.ts, which writes format 1 from a packed state. */
export class Writer {
  length = 0;
  private room(n: number): void {
    if (this.length + n <= scratch.length) return;
    const next = Buffer.allocUnsafe(Math.max(2 * scratch.length, this.length + n));
    scratch.copy(next, 0, 0, this.length);
    scratch = next;
  }
  byte(b: number): void {
    this.room(1);
    scratch[this.length++] = b;
  }
  /** Unsigned integer up to 2^53, 7 bits per byte (arithmetic, not 32-bit bit operations). */
  uint(n: number): void {
    this.room(8);
    while (n >= 0x80) {
      scratch[this.length++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    scratch[this.length++] = n;
  }
  int(n: number): void {
    this.uint(n >= 0 ? n * 2 : -n * 2 - 1);
  }
  string(s: string): void {
    // messageIds and channel names are short ASCII: their byte length is their length, and copying
    // their char codes beats Buffer#write's UTF-8 encoder, whose call costs more than these few bytes.
    const n = s.length;
    if (n < 128) {
      this.room(n + 1);
      const start = this.length;
      scratch[start] = n;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        scratch[start + 1 + i] = c;
      }
      if (i === n) {
        this.length = start + 1 + n;
        return;
      }
    }
    const bytes = Buffer.byteLength(s, 'utf8');
    this.uint(bytes);
    this.room(bytes);
    this.length += scratch.write(s, this.length, 'utf8');
  }
  float(x: number): void {
    this.room(8);
    scratch.writeDoubleLE(x, this.length);
    this.length += 8;
  }
  /** Bytes `from`..`to` of `source` as they are. */
  copy(source: Buffer, from: number, to: number): void {
    this.room(to - from);
    this.length += source.copy(scratch, this.length, from, to);
  }
  done(): Buffer {
    const out = Buffer.allocUnsafe(this.length);
    scratch.copy(out, 0, 0, this.length);
    return out;
  }
  /** The bytes written as a packed (latin1) string: how the partition holds a state. */
  packed(): PackedBytes {
    return scratch.toString('latin1', 0, this.length);
  }
}

/** Also used by attribution-state-append.ts, which reads a packed state without decoding it. */
export class Reader {
  at = 0;
  /** Reads `buf` up to `end` (a scratch buffer holds a state in its first bytes). */
  constructor(
    private readonly buf: Buffer,
    private readonly length: number = buf.length,
  ) {}
  private need(n: number): void {
    if (this.at + n > this.length) throw new AttributionStateError('attribution state cut short');
  }
  byte(): number {
    this.need(1);
    return this.buf[this.at++]!;
  }
  uint(): number {
    let n = 0;
    for (let scale = 1; ; scale *= 0x80) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      if (scale > 2 ** 49) throw new AttributionStateError('attribution state: varint too long');
    }
  }
  int(): number {
    const z = this.uint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
  /** Skips a string (length + UTF-8): its bytes start where `at` was plus its length's bytes; returns its byte length. */
  skipString(): number {
    const n = this.uint();
    this.need(n);
    this.at += n;
    return n;
  }
  /** Whether the n bytes at `start` are `s`, a string of ASCII characters only. */
  isAscii(start: number, n: number, s: string): boolean {
    if (s.length !== n) return false;
    for (let i = 0; i < n; i++) if (this.buf[start + i] !== s.charCodeAt(i)) return false;
    return true;
  }
  string(): string {
    const n = this.uint();
    this.need(n);
    const s = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }
  float(): number {
    this.need(8);
    const x = this.buf.readDoubleLE(this.at);
    this.at += 8;
    return x;
  }
  end(): void {
    if (this.at !== this.length) throw new AttributionStateError(`attribution state: ${this.length - this.at} trailing bytes`);
  }
}

/**
 * The distinct strings of the state being encoded, in first-use order, reused by every encode
 * (emptied first). A customer has a handful of them: a linear search beats a Map, and a
 * module-level array allocates nothing per encode.
 */
const strings: string[] = [];
/** Per label of the state being encoded: its index in `strings`, or -1 before its first use. */
const written: number[] = [];
function intern(s: string): number {
  const i = strings.indexOf(s);
  if (i >= 0) return i;
  strings.push(s);
  return strings.length - 1;
}
/** Label `i` of the state: its index in `strings`, interned on first use (the order format 1 writes them in). */
function labelIndex(state: CustomerAttribution, i: number): number {
  let at = written[i]!;
  if (at < 0) written[i] = at = intern(state.labels[i]!);
  return at;
}

/**
 * The state's changelog part. The strings go in the order of their first use by the touches
 * (channel, campaign, site of each) and then the conversions (site, customer id): the same
 * bytes for the same state however its labels are held.
 */
export function encodeAttributionState(state: CustomerAttribution): Buffer {
  return write(state).done();
}

/** The state's changelog part as a packed (latin1) string: how the partition holds a customer between accesses. */
export function encodePackedAttributionState(state: CustomerAttribution): PackedBytes {
  return write(state).packed();
}

function write(state: CustomerAttribution): Writer {
  strings.length = 0;
  written.length = 0;
  for (let i = 0; i < state.labels.length; i++) written.push(-1);
  // Interned on the first pass: the indexes the second pass writes (into `refs`' place, by touch).
  const touchStrings = touchIndexes;
  touchStrings.length = 0;
  for (let i = 0; i < state.size; i++) {
    const r = state.refs(i);
    const campaign = Math.floor(r / REF) % REF;
    touchStrings.push(labelIndex(state, r % REF), campaign === 0 ? 0 : labelIndex(state, campaign - 1) + 1, labelIndex(state, Math.floor(r / (REF * REF))));
  }
  for (const c of state.conversions) {
    intern(c.site);
    intern(c.customerId);
  }
  const clock = Number.isFinite(state.clock) ? state.clock : 0;
  const w = new Writer();
  w.byte(FORMAT);
  w.int(clock);
  w.uint(strings.length);
  for (const s of strings) w.string(s);
  w.uint(state.size);
  let previous = clock;
  for (let i = 0; i < state.size; i++) {
    const at = state.at(i);
    w.int(at - previous);
    previous = at;
    w.uint(touchStrings[3 * i]!);
    w.uint(touchStrings[3 * i + 1]!);
    w.uint(touchStrings[3 * i + 2]!);
    w.string(state.ids[i]!);
  }
  w.uint(state.conversions.length);
  for (const c of state.conversions) {
    w.int(c.at - clock);
    w.uint(strings.indexOf(c.site));
    w.uint(strings.indexOf(c.customerId));
    if (c.revenue === null) w.byte(0);
    else {
      w.byte(1);
      w.float(c.revenue);
    }
    w.string(c.id);
  }
  return w;
}
/** Per touch of the state being encoded: channel, campaign + 1 (0 = none) and site indexes in `strings`. */
const touchIndexes: number[] = [];

/** A state from its changelog part: its labels are the part's strings, in their order. */
export function decodeAttributionState(bytes: Uint8Array): CustomerAttribution {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const format = r.byte();
  if (format !== FORMAT) throw new AttributionStateError(`not an attribution state (format byte ${format})`);
  const state = new CustomerAttribution();
  const clock = r.int();
  state.clock = clock;
  // Every array of its exact length (CustomerAttribution), from the counts that come first; a
  // count larger than the bytes left cannot be real (each item takes at least a byte).
  const counted = (): number => {
    const n = r.uint();
    if (n > bytes.byteLength) throw new AttributionStateError('attribution state cut short');
    return n;
  };
  const labels = new Array<string>(counted());
  for (let i = 0; i < labels.length; i++) labels[i] = r.string();
  state.labels = labels;
  const index = (i: number): number => {
    if (i >= labels.length) throw new AttributionStateError(`attribution state: string ${i} of ${labels.length}`);
    return i;
  };
  let previous = clock;
  const count = counted();
  const nums = new Array<number>(2 * count);
  const ids = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const at = previous + r.int();
    previous = at;
    const channel = index(r.uint());
    const campaign = r.uint();
    if (campaign > 0) index(campaign - 1);
    const site = index(r.uint());
    nums[2 * i] = at;
    nums[2 * i + 1] = channel + campaign * REF + site * REF * REF;
    ids[i] = r.string();
  }
  state.setTouches(nums, ids);
  for (let n = r.uint(); n > 0; n--) {
    const at = clock + r.int();
    const site = labels[index(r.uint())]!;
    const customerId = labels[index(r.uint())]!;
    const revenue = r.byte() === 0 ? null : r.float();
    state.addConversion({ id: r.string(), at, revenue, site, customerId });
  }
  r.end();
  return state;
}
