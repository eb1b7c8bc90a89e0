import type { EventSummary } from './session-summary.js';

/** Numbers per event in `nums`: start, hash, flags. */
const NUMS = 3;
/** Strings per event in `strs`: site, event, url. */
const STRS = 3;
const STAGE_SHIFT = 0x1_0000;
const CONVERTED = 0x100_0000;

/**
 * The events of one open session kept one by one (those still within the grace period), in event
 * order, packed: their times, hashes and flags in one array of unboxed doubles, their strings in
 * another. As objects, a kept event was a summary with four boxed numbers besides it, about eight
 * heap objects that lived for the whole grace period (every event of the last 10 min of event
 * time), each one promoted and then traced by every major GC; packed, a session's kept events are
 * two arrays whatever their number (the strings are shared: see StringPool).
 *
 * Every kept event is a single event (summarize): its entry is its exit, so each is stored once.
 * Flags: channels (16 bits) | (stage + 1) << 16 | converted << 24.
 */
export class KeptEvents {
  /**
   * A session opened by one event holds just it (most sessions are short): its arrays are made
   * to size, where a first push onto empty arrays would reserve room for 17 elements each.
   */
  constructor(
    private readonly nums: number[] = [],
    private readonly strs: Array<string | null> = [],
  ) {}

  static of(events: readonly EventSummary[]): KeptEvents {
    const kept = new KeptEvents();
    for (const e of events) kept.push(e);
    return kept;
  }

  /** A set of one event (a single-event summary). */
  static one(e: EventSummary): KeptEvents {
    if (!isSingleEvent(e)) throw new Error('a kept event must be a single event');
    return new KeptEvents([e.start, e.firstHash, flagsOf(e.channels, e.stage, e.converted)], [e.site, e.entryEvent, e.entryUrl]);
  }

  get length(): number {
    return this.nums.length / NUMS;
  }

  start(i: number): number {
    return this.nums[i * NUMS]!;
  }

  hash(i: number): number {
    return this.nums[i * NUMS + 1]!;
  }

  site(i: number): string {
    return this.strs[i * STRS]!;
  }

  event(i: number): string {
    return this.strs[i * STRS + 1]!;
  }

  url(i: number): string | null {
    return this.strs[i * STRS + 2]!;
  }

  channels(i: number): number {
    return this.nums[i * NUMS + 2]! & 0xffff;
  }

  stage(i: number): number {
    return Math.floor(this.nums[i * NUMS + 2]! / STAGE_SHIFT) % 0x100 - 1;
  }

  converted(i: number): boolean {
    return this.nums[i * NUMS + 2]! >= CONVERTED;
  }

  /** The i-th event as a summary of its own (a new object). */
  at(i: number): EventSummary {
    const start = this.start(i);
    const hash = this.hash(i);
    const event = this.event(i);
    const url = this.url(i);
    return {
      count: 1,
      start,
      firstHash: hash,
      site: this.site(i),
      entryEvent: event,
      entryUrl: url,
      end: start,
      endHash: hash,
      exitEvent: event,
      exitUrl: url,
      channels: this.channels(i),
      stage: this.stage(i),
      converted: this.converted(i),
    };
  }

  toArray(): EventSummary[] {
    const out: EventSummary[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.at(i));
    return out;
  }

  /** Appends a single-event summary (after every kept event, in event order). */
  push(e: EventSummary): void {
    if (!isSingleEvent(e)) throw new Error('a kept event must be a single event');
    this.add(e.start, e.firstHash, e.site, e.entryEvent, e.entryUrl, e.channels, e.stage, e.converted);
  }

  /** Appends one event by its fields (the codec reads them so, with no summary in between). */
  add(start: number, hash: number, site: string, event: string, url: string | null, channels: number, stage: number, converted: boolean): void {
    this.nums.push(start, hash, flagsOf(channels, stage, converted));
    this.strs.push(site, event, url);
  }

  /** Removes the first `n` events (all of them when there are fewer). */
  dropFirst(n: number): void {
    if (n <= 0) return;
    n = Math.min(n, this.length);
    this.nums.copyWithin(0, n * NUMS);
    this.nums.length -= n * NUMS;
    this.strs.copyWithin(0, n * STRS);
    this.strs.length -= n * STRS;
  }

  /** Both sets' events in event order (time, then hash), as a new set. */
  static merged(a: KeptEvents, b: KeptEvents): KeptEvents {
    if (b.length === 0) return a;
    if (a.length === 0) return b;
    return KeptEvents.of([...a.toArray(), ...b.toArray()].sort((x, y) => (x.start !== y.start ? x.start - y.start : x.firstHash - y.firstHash)));
  }
}

const flagsOf = (channels: number, stage: number, converted: boolean): number => (channels & 0xffff) + (stage + 1) * STAGE_SHIFT + (converted ? CONVERTED : 0);

/** A summary of exactly one event: what a kept event is (its exit fields are its entry fields). */
export function isSingleEvent(e: EventSummary): boolean {
  return (
    e.count === 1 &&
    e.start === e.end &&
    e.firstHash === e.endHash &&
    e.entryEvent === e.exitEvent &&
    e.entryUrl === e.exitUrl &&
    e.stage >= -1 &&
    e.stage < 0xff &&
    e.channels >= 0 &&
    e.channels <= 0xffff
  );
}
