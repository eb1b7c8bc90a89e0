import { CHANNELS, type Touchpoint } from '../../../schemas/touchpoint.js';
import { STAGES, stageRank, type SessionRecord, type Stage } from '../../../schemas/journey.js';
import { hashHex } from './hash.js';
import type { StringPool } from './string-pool.js';

/**
 * Summary of a set of one customer's events. `absorb` is commutative and associative, so events can be
 * summarized in any arrival order. Events are totally ordered by (time, messageId hash): the hash
 * breaks same-millisecond ties without keeping the messageId string.
 */
export interface EventSummary {
  count: number;
  start: number;
  firstHash: number;
  site: string;
  entryEvent: string;
  entryUrl: string | null;
  end: number;
  endHash: number;
  exitEvent: string;
  exitUrl: string | null;
  /** Bit i set = CHANNELS[i] seen. */
  channels: number;
  /** Furthest stageRank, -1 for none. */
  stage: number;
  converted: boolean;
}

const CHANNEL_BIT = new Map<string, number>(CHANNELS.map((c, i) => [c, 1 << i]));
const OTHER_BIT = CHANNEL_BIT.get('other')!;

/**
 * A session id depends only on its first event, never on the customer id (customers get merged).
 * 53 bits (the hash of the first event's messageId): short and readable, but among 100 million
 * sessions two share one with a chance of about 2 in 5, so rows are keyed by `sessionUidOf` too.
 */
export function sessionIdOf(firstHash: number): string {
  return `s_${hashHex(firstHash)}`;
}

/**
 * The 128-bit key of a session, as UUID text: the first event's time (ms, 64 bits) then the hash of
 * its messageId (53 bits in 64). Like the id, a function of the first event alone, so every version
 * of a session has the same one; two sessions share it only when their first events have the same
 * millisecond and the same messageId hash. (Not a hash of the messageId itself: the state keeps
 * only its 53-bit hash.)
 */
export function sessionUidOf(start: number, firstHash: number): string {
  const hex = hex64(start) + hex64(firstHash);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A safe integer as 16 hex digits (two's complement below 0, an event time before 1970). */
const hex64 = (n: number): string => (n >= 0 ? `00${hashHex(n)}` : BigInt.asUintN(64, BigInt(n)).toString(16).padStart(16, '0'));

/** The summary of one event; its strings from `pool` when given (the state keeps them: string-pool.ts). */
export function summarize(tp: Touchpoint, hash: number, stage: Stage | null, pool?: StringPool): EventSummary {
  const site = pool ? pool.intern(tp.site) : tp.site;
  const event = pool ? pool.intern(tp.event) : tp.event;
  const url = pool ? pool.internOrNull(tp.url) : tp.url;
  return {
    count: 1,
    start: tp.timestamp,
    firstHash: hash,
    site,
    entryEvent: event,
    entryUrl: url,
    end: tp.timestamp,
    endHash: hash,
    exitEvent: event,
    exitUrl: url,
    channels: CHANNEL_BIT.get(tp.channel) ?? OTHER_BIT,
    stage: stage === null ? -1 : stageRank(stage),
    converted: stage === 'purchase',
  };
}

/** (t1, h1) strictly before (t2, h2) in event order. */
export function isBefore(t1: number, h1: number, t2: number, h2: number): boolean {
  return t1 < t2 || (t1 === t2 && h1 < h2);
}

export function copySummary(s: EventSummary): EventSummary {
  // An explicit literal keeps one hidden class and is several times faster than a spread.
  return {
    count: s.count,
    start: s.start,
    firstHash: s.firstHash,
    site: s.site,
    entryEvent: s.entryEvent,
    entryUrl: s.entryUrl,
    end: s.end,
    endHash: s.endHash,
    exitEvent: s.exitEvent,
    exitUrl: s.exitUrl,
    channels: s.channels,
    stage: s.stage,
    converted: s.converted,
  };
}

/** Adds `from`'s events into `into` (mutates `into`). */
export function absorb(into: EventSummary, from: EventSummary): void {
  if (isBefore(from.start, from.firstHash, into.start, into.firstHash)) {
    into.start = from.start;
    into.firstHash = from.firstHash;
    into.site = from.site;
    into.entryEvent = from.entryEvent;
    into.entryUrl = from.entryUrl;
  }
  if (isBefore(into.end, into.endHash, from.end, from.endHash)) {
    into.end = from.end;
    into.endHash = from.endHash;
    into.exitEvent = from.exitEvent;
    into.exitUrl = from.exitUrl;
  }
  into.count += from.count;
  into.channels |= from.channels;
  if (from.stage > into.stage) into.stage = from.stage;
  into.converted ||= from.converted;
}

/**
 * Sessions are contiguous runs of the customer's ordered events, so a session with the same first
 * event, last event and count holds the same events: this is an exact change test.
 */
export function sameEvents(a: EventSummary, b: EventSummary): boolean {
  return a.count === b.count && a.start === b.start && a.firstHash === b.firstHash && a.end === b.end && a.endHash === b.endHash;
}

export function channelNames(mask: number): string[] {
  return CHANNELS.filter((_, i) => (mask & (1 << i)) !== 0);
}

export function toSessionRecord(
  sessionId: string,
  customerId: string,
  status: SessionRecord['status'],
  version: number,
  s: EventSummary,
): SessionRecord {
  return {
    sessionId,
    sessionUid: sessionUidOf(s.start, s.firstHash),
    customerId,
    status,
    version,
    site: s.site,
    startedAt: s.start,
    endedAt: s.end,
    eventCount: s.count,
    channels: channelNames(s.channels),
    entryEvent: s.entryEvent,
    exitEvent: s.exitEvent,
    entryUrl: s.entryUrl,
    exitUrl: s.exitUrl,
    furthestStage: s.stage < 0 ? null : (STAGES[s.stage] ?? null),
    converted: s.converted,
  };
}
