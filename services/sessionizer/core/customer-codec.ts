import { absorb, copySummary, sessionIdOf, type EventSummary } from './session-summary.js';
import { isSingleEvent, KeptEvents } from './kept-events.js';
import type { OpenSession } from './sessions.js';
import { StringPool } from './string-pool.js';

/** Everything a partition keeps about one customer, as plain data (changelog and merge transfer). */
export interface CustomerImage {
  /** The writer partition's watermark when the image was taken (restores the watermark). */
  watermark: number;
  /** Last session-record version handed out for this customer. */
  clock: number;
  accountId: string | null;
  /** Flat [hash, time, …] pairs of recently seen messageIds. */
  recentIds: number[];
  sessions: OpenSession[];
  /** The customer reached a bound of customer-bounds.ts at some point (README: Known limits). */
  bounded: boolean;
}

/*
 * Layout (little endian), format 3:
 *   u8 format | f64 watermark | f64 clock | nstr accountId
 *   u32 pairs | pairs × (f64 hash, f64 time)
 *   u32 sessions | sessions × (u8 hasFolded | [summary] | u32 recent | recent × event)
 *   u8 flags (bit 0: bounded)
 * summary: u32 count | f64 start | f64 firstHash | str site | str entryEvent | nstr entryUrl |
 *          f64 end | f64 endHash | str exitEvent | nstr exitUrl | u16 channels | i8 stage | u8 converted
 * event (one event: its exit is its entry): f64 time | f64 hash | str site | str event | nstr url |
 *          u16 channels | i8 stage | u8 converted
 * str: u32 byte length + UTF-8; nstr: u32 (length + 1), 0 = null. Session ids are derived, not stored.
 * Still read: format 2, the same with each kept event written as a full summary (its entry fields
 * twice, 28 bytes and two strings more per kept event, every one re-encoded at every flush of its
 * customer); format 1, format 2 without the trailing flags.
 */
const FORMAT = 3;
const FORMAT_SUMMARIES = 2;
const FORMAT_WITHOUT_FLAGS = 1;
const FLAG_BOUNDED = 1;

class ByteWriter {
  private bytes = new Uint8Array(256);
  private view = new DataView(this.bytes.buffer);
  private pos = 0;
  private static readonly utf8 = new TextEncoder();

  reset(): this {
    this.pos = 0;
    return this;
  }

  private room(n: number): void {
    if (this.pos + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.pos + n));
    grown.set(this.bytes.subarray(0, this.pos));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(v: number): void {
    this.room(1);
    this.view.setUint8(this.pos++, v);
  }
  i8(v: number): void {
    this.room(1);
    this.view.setInt8(this.pos++, v);
  }
  u16(v: number): void {
    this.room(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }
  f64(v: number): void {
    this.room(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
  /**
   * Writes a length-prefixed UTF-8 string; `bias` 1 leaves 0 free to mean null. An ASCII prefix
   * (all of nearly every site, event name and URL) is copied a character at a byte: the encoder
   * call and the view it writes into cost more than these short strings.
   */
  str(s: string, bias = 0): void {
    const n = s.length;
    this.room(4 + 3 * n);
    const bytes = this.bytes;
    let at = this.pos + 4;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      bytes[at++] = c;
    }
    if (i < n) at += ByteWriter.utf8.encodeInto(s.slice(i), bytes.subarray(at)).written;
    this.view.setUint32(this.pos, at - this.pos - 4 + bias, true);
    this.pos = at;
  }
  nstr(s: string | null): void {
    if (s === null) this.u32(0);
    else this.str(s, 1);
  }
  /** The bytes written, in place: valid until the next write. */
  written(): Uint8Array {
    return this.bytes.subarray(0, this.pos);
  }
}

class ByteReader {
  private readonly view: DataView;
  private pos = 0;
  private static readonly utf8 = new TextDecoder();

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u8(): number {
    return this.view.getUint8(this.pos++);
  }
  i8(): number {
    return this.view.getInt8(this.pos++);
  }
  u16(): number {
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f64(): number {
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  private text(length: number): string {
    const s = ByteReader.utf8.decode(this.bytes.subarray(this.pos, this.pos + length));
    this.pos += length;
    return s;
  }
  str(): string {
    return this.text(this.u32());
  }
  nstr(): string | null {
    const n = this.u32();
    return n === 0 ? null : this.text(n - 1);
  }
}

function writeSummary(w: ByteWriter, s: EventSummary): void {
  w.u32(s.count);
  w.f64(s.start);
  w.f64(s.firstHash);
  w.str(s.site);
  w.str(s.entryEvent);
  w.nstr(s.entryUrl);
  w.f64(s.end);
  w.f64(s.endHash);
  w.str(s.exitEvent);
  w.nstr(s.exitUrl);
  w.u16(s.channels);
  w.i8(s.stage);
  w.u8(s.converted ? 1 : 0);
}

function readSummary(r: ByteReader, pool: StringPool): EventSummary {
  return {
    count: r.u32(),
    start: r.f64(),
    firstHash: r.f64(),
    site: pool.intern(r.str()),
    entryEvent: pool.intern(r.str()),
    entryUrl: pool.internOrNull(r.nstr()),
    end: r.f64(),
    endHash: r.f64(),
    exitEvent: pool.intern(r.str()),
    exitUrl: pool.internOrNull(r.nstr()),
    channels: r.u16(),
    stage: r.i8(),
    converted: r.u8() === 1,
  };
}

function writeEvents(w: ByteWriter, kept: KeptEvents): void {
  w.u32(kept.length);
  for (let i = 0; i < kept.length; i++) {
    w.f64(kept.start(i));
    w.f64(kept.hash(i));
    w.str(kept.site(i));
    w.str(kept.event(i));
    w.nstr(kept.url(i));
    w.u16(kept.channels(i));
    w.i8(kept.stage(i));
    w.u8(kept.converted(i) ? 1 : 0);
  }
}

function readEvents(r: ByteReader, pool: StringPool): KeptEvents {
  const kept = new KeptEvents();
  for (let n = r.u32(); n > 0; n--) {
    const start = r.f64();
    const hash = r.f64();
    const site = pool.intern(r.str());
    const event = pool.intern(r.str());
    const url = pool.internOrNull(r.nstr());
    kept.add(start, hash, site, event, url, r.u16(), r.i8(), r.u8() === 1);
  }
  return kept;
}

/**
 * A session's kept events as format 2 wrote them (summaries). Only single events were ever kept
 * (summarize); should one not be, it and those before it go to the folded summary, which keeps
 * every folded event before every kept one.
 */
function readSummariesAsEvents(r: ByteReader, pool: StringPool, folded: EventSummary | null): { folded: EventSummary | null; recent: KeptEvents } {
  const summaries: EventSummary[] = [];
  for (let n = r.u32(); n > 0; n--) summaries.push(readSummary(r, pool));
  let from = 0;
  for (let i = 0; i < summaries.length; i++) if (!isSingleEvent(summaries[i]!)) from = i + 1;
  for (let i = 0; i < from; i++) {
    if (folded) absorb(folded, summaries[i]!);
    else folded = copySummary(summaries[i]!);
  }
  return { folded, recent: KeptEvents.of(summaries.slice(from)) };
}

/**
 * One writer per encoder instance: encoding is synchronous, so its buffer is reused between calls.
 * Decoded strings go through `pool` (the partition's), so restored state shares them too.
 */
export class CustomerCodec {
  private readonly writer = new ByteWriter();

  constructor(private readonly pool = new StringPool()) {}

  encode(image: CustomerImage): Uint8Array {
    return this.encodeInPlace(image).slice();
  }

  /** The encoding in this codec's buffer, not copied: valid until its next encode (copy it to keep it). */
  encodeInPlace(image: CustomerImage): Uint8Array {
    this.write(image);
    return this.writer.written();
  }

  private write(image: CustomerImage): void {
    const w = this.writer.reset();
    w.u8(FORMAT);
    w.f64(image.watermark);
    w.f64(image.clock);
    w.nstr(image.accountId);
    w.u32(image.recentIds.length / 2);
    for (const v of image.recentIds) w.f64(v);
    w.u32(image.sessions.length);
    for (const s of image.sessions) {
      w.u8(s.folded ? 1 : 0);
      if (s.folded) writeSummary(w, s.folded);
      writeEvents(w, s.recent);
    }
    w.u8(image.bounded ? FLAG_BOUNDED : 0);
  }

  decode(bytes: Uint8Array): CustomerImage {
    const r = new ByteReader(bytes);
    const format = r.u8();
    if (format !== FORMAT && format !== FORMAT_SUMMARIES && format !== FORMAT_WITHOUT_FLAGS) throw new Error(`unknown sessionizer customer format ${format}`);
    const watermark = r.f64();
    const clock = r.f64();
    const accountId = r.nstr();
    const recentIds: number[] = [];
    for (let n = r.u32() * 2; n > 0; n--) recentIds.push(r.f64());
    const sessions: OpenSession[] = [];
    for (let n = r.u32(); n > 0; n--) {
      const read = r.u8() === 1 ? readSummary(r, this.pool) : null;
      const { folded, recent } = format === FORMAT ? { folded: read, recent: readEvents(r, this.pool) } : readSummariesAsEvents(r, this.pool, read);
      const all = folded ? copySummary(folded) : recent.at(0);
      for (let i = folded ? 0 : 1; i < recent.length; i++) absorb(all, recent.at(i));
      sessions.push({ id: sessionIdOf(all.firstHash), folded, recent, all });
    }
    const flags = format === FORMAT_WITHOUT_FLAGS ? 0 : r.u8();
    return { watermark, clock, accountId, recentIds, sessions, bounded: (flags & FLAG_BOUNDED) !== 0 };
  }
}
