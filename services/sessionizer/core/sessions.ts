import type { Touchpoint } from '../../../schemas/touchpoint.js';
import type { Stage } from '../../../schemas/journey.js';
import { absorb, copySummary, isBefore, sameEvents, sessionIdOf, type EventSummary } from './session-summary.js';
import { KeptEvents } from './kept-events.js';

export interface SessionConfig {
  /** A session ends after this much event time without an event. */
  inactivityGapMs: number;
  /** A session never spans this much event time: the event at start + max opens a new one. */
  maxSessionMs: number;
  /** How far behind the partition watermark an event may be and still be placed exactly. */
  graceMs: number;
  /** A repeated messageId within this much event time is a duplicate. */
  dedupWindowMs: number;
}

export interface SessionizerConfig extends SessionConfig {
  /** The stage an event shows (the stage service owns the rules); null = no stage. */
  stageOf: (tp: Touchpoint) => Stage | null;
}

const MINUTE = 60_000;
export const DEFAULT_SESSION_CONFIG: Readonly<SessionConfig> = {
  inactivityGapMs: 30 * MINUTE,
  maxSessionMs: 24 * 60 * MINUTE,
  graceMs: 10 * MINUTE,
  dedupWindowMs: 24 * 60 * MINUTE,
};

export function sessionizerConfig(stageOf: SessionizerConfig['stageOf'], overrides: Partial<SessionConfig> = {}): SessionizerConfig {
  return { ...DEFAULT_SESSION_CONFIG, ...overrides, stageOf };
}

/**
 * One open session of a customer.
 * Invariant (per customer): every `folded` event precedes every `recent` event. Events older than the
 * fold horizon (watermark - grace) can no longer be preceded by an on-time event, so their session
 * membership is final and a summary suffices; newer events are kept one by one so an out-of-order
 * arrival can re-cut the sessions after it exactly.
 */
export interface OpenSession {
  id: string;
  folded: EventSummary | null;
  /** Single events, in event order (packed: kept-events.ts). */
  recent: KeptEvents;
  /** folded ⊕ recent. */
  all: EventSummary;
}

export type SessionChange = { status: 'opened' | 'updated' | 'merged'; id: string; summary: EventSummary };

export interface Placement {
  sessionId: string;
  changes: SessionChange[];
}

/** `e` comes after every event summarized by `s`. */
const after = (e: EventSummary, s: EventSummary): boolean => isBefore(s.end, s.endHash, e.start, e.firstHash);

function openWith(e: EventSummary): OpenSession {
  return { id: sessionIdOf(e.firstHash), folded: null, recent: KeptEvents.one(e), all: copySummary(e) };
}

/** Greedy cut rule: an event continues the current session unless the gap or the max length is exceeded. */
function continues(start: number, lastAt: number, t: number, cfg: SessionConfig): boolean {
  return t - lastAt <= cfg.inactivityGapMs && t - start < cfg.maxSessionMs;
}

/** Moves the first `n` recent events of a session into its folded summary. */
function foldFirst(s: OpenSession, n: number): void {
  const recent = s.recent;
  for (let i = 0; i < n; i++) {
    if (s.folded) absorb(s.folded, recent.at(i));
    else s.folded = recent.at(i);
  }
  recent.dropFirst(n);
}

/** Moves each session's leading recent events matching `isFinal` (by time and hash) into its folded summary. */
export function foldWhere(sessions: OpenSession[], isFinal: (start: number, hash: number) => boolean): void {
  for (const s of sessions) {
    let n = 0;
    while (n < s.recent.length && isFinal(s.recent.start(n), s.recent.hash(n))) n++;
    if (n > 0) foldFirst(s, n);
  }
}

/** Folds every recent event older than `horizon` (runs on every event: no closure, no allocation). */
export function foldBefore(sessions: OpenSession[], horizon: number): void {
  for (let i = 0; i < sessions.length; i++) {
    const s = sessions[i]!;
    let n = 0;
    while (n < s.recent.length && s.recent.start(n) < horizon) n++;
    if (n > 0) foldFirst(s, n);
  }
}

/**
 * When more than `max` events are unfolded, folds the oldest so that `keep` (≤ max) stay, oldest
 * session first (recent events are in event order across sessions, so the folded-before-recent
 * invariant holds). Returns how many were folded. This bounds a customer's memory when very many
 * events fall within the grace period; an out-of-order event that precedes a folded one is then
 * placed by union (placeByUnion) instead of exactly. Folding to below `max` makes the cost per event
 * constant (each fold shifts the kept events once, not once per event).
 */
export function foldOldest(sessions: OpenSession[], max: number, keep = max): number {
  let count = 0;
  for (let i = 0; i < sessions.length; i++) count += sessions[i]!.recent.length;
  if (count <= max) return 0;
  let excess = count - keep;
  const folded = excess;
  for (let i = 0; i < sessions.length && excess > 0; i++) {
    const s = sessions[i]!;
    const n = Math.min(excess, s.recent.length);
    if (n > 0) foldFirst(s, n);
    excess -= n;
  }
  return folded;
}

/** The folded summary of the last session that has one (its end is the latest folded event), or null. */
export function lastFolded(sessions: OpenSession[]): EventSummary | null {
  for (let i = sessions.length - 1; i >= 0; i--) {
    const folded = sessions[i]!.folded;
    if (folded) return folded;
  }
  return null;
}

/** True when the event may be placed exactly: it follows every folded event. */
export function followsFolded(sessions: OpenSession[], e: EventSummary): boolean {
  const folded = lastFolded(sessions);
  return folded === null || after(e, folded);
}

/** `t` lies strictly between the first and last event of an open session (so it cannot move its cuts). */
export function strictlyInside(sessions: OpenSession[], t: number, counts: (s: OpenSession) => boolean = () => true): boolean {
  return sessions.some((s) => s.all.start < t && t < s.all.end && counts(s));
}

/**
 * Places an on-time event (one that follows every folded event) exactly as a batch pass over the
 * customer's ordered events would: appends in the common in-order case, otherwise re-runs the greedy
 * cut from the last folded event over the recent events. Mutates `sessions`.
 */
export function placeInOrder(sessions: OpenSession[], e: EventSummary, cfg: SessionConfig): Placement {
  const last = sessions[sessions.length - 1];
  if (last === undefined || after(e, last.all)) {
    if (last && continues(last.all.start, last.all.end, e.start, cfg)) {
      last.recent.push(e);
      absorb(last.all, e);
      return { sessionId: last.id, changes: [{ status: 'updated', id: last.id, summary: last.all }] };
    }
    const opened = openWith(e);
    sessions.push(opened);
    return { sessionId: opened.id, changes: [{ status: 'opened', id: opened.id, summary: opened.all }] };
  }
  return recut(sessions, e, cfg);
}

/** Greedy cuts are prefix-determined: only events after `e` can move, and all of them are recent. */
function recut(sessions: OpenSession[], e: EventSummary, cfg: SessionConfig): Placement {
  let from = sessions.length - 1;
  while (from > 0 && sessions[from]!.folded === null) from--;
  const old = sessions.slice(from);
  const events = old.flatMap((s) => s.recent.toArray());
  let at = events.length;
  while (at > 0 && isBefore(e.start, e.firstHash, events[at - 1]!.start, events[at - 1]!.firstHash)) at--;
  events.splice(at, 0, e);

  // Sessions before `from` hold only folded events (invariant), so the greedy state there is final.
  const rebuilt: OpenSession[] = [];
  let current: OpenSession | null = null;
  const head = old[0]!;
  if (head.folded) {
    current = { id: head.id, folded: head.folded, recent: new KeptEvents(), all: copySummary(head.folded) };
    rebuilt.push(current);
  }
  let sessionId = '';
  // `e` is compared by identity below: the other events are fresh copies (toArray).
  for (const ev of events) {
    if (current && continues(current.all.start, current.all.end, ev.start, cfg)) {
      current.recent.push(ev);
      absorb(current.all, ev);
    } else {
      current = openWith(ev);
      rebuilt.push(current);
    }
    if (ev === e) sessionId = current.id;
  }
  sessions.splice(from, old.length, ...rebuilt);
  return { sessionId, changes: diff(new Map(old.map((s) => [s.id, s.all])), rebuilt) };
}

/** Summaries by id, copied so later in-place merges do not alter them. */
export function summariesById(sessions: OpenSession[]): Map<string, EventSummary> {
  return new Map(sessions.map((s) => [s.id, copySummary(s.all)]));
}

/** What changed between the sessions summarized in `before` and the sessions `now`. */
export function diff(before: Map<string, EventSummary>, now: OpenSession[]): SessionChange[] {
  const kept = new Set(now.map((s) => s.id));
  const changes: SessionChange[] = [];
  for (const [id, summary] of before) if (!kept.has(id)) changes.push({ status: 'merged', id, summary });
  for (const s of now) {
    const prev = before.get(s.id);
    if (prev === undefined) changes.push({ status: 'opened', id: s.id, summary: s.all });
    else if (!sameEvents(prev, s.all)) changes.push({ status: 'updated', id: s.id, summary: s.all });
  }
  return changes;
}

/**
 * Places an event that cannot be placed exactly (it precedes folded events: an old event inside an
 * open session, or one after a customer merge) by union: it joins the sessions within the gap of it,
 * bridging them if needed. The max length is not re-applied to such unions. Mutates `sessions`.
 */
export function placeByUnion(sessions: OpenSession[], e: EventSummary, cfg: SessionConfig): Placement {
  const single: OpenSession = { id: sessionIdOf(e.firstHash), folded: copySummary(e), recent: new KeptEvents(), all: copySummary(e) };
  const before = summariesById(sessions);
  mergeSessions(sessions, [single], cfg);
  const holder = sessions.find((s) => s.all.start <= e.start && e.start <= s.all.end)!;
  return { sessionId: holder.id, changes: diff(before, sessions) };
}

/**
 * Adds `incoming` sessions to `sessions` and coalesces any that overlap or lie within the gap of each
 * other; the earlier session's id survives. Restores the folded-before-recent invariant. Mutates
 * `sessions` (and the surviving sessions' summaries: copy them first to diff).
 */
export function mergeSessions(sessions: OpenSession[], incoming: OpenSession[], cfg: SessionConfig): void {
  const all = [...sessions, ...incoming].sort((x, y) =>
    x.all.start !== y.all.start ? x.all.start - y.all.start : x.all.firstHash - y.all.firstHash,
  );
  const out: OpenSession[] = [];
  for (const s of all) {
    const prev = out[out.length - 1];
    if (prev && s.all.start - prev.all.end <= cfg.inactivityGapMs) {
      if (s.folded) {
        if (prev.folded) absorb(prev.folded, s.folded);
        else prev.folded = copySummary(s.folded);
      }
      prev.recent = KeptEvents.merged(prev.recent, s.recent);
      absorb(prev.all, s.all);
    } else {
      out.push(s);
    }
  }
  sessions.splice(0, sessions.length, ...out);
  const folded = lastFolded(sessions);
  if (folded) foldWhere(sessions, (start, hash) => !isBefore(folded.end, folded.endHash, start, hash));
}

/**
 * Removes and returns the sessions no on-time event can reach any more: end + gap + grace < watermark
 * (an on-time event is at or after watermark - grace, so it is more than a gap after their end).
 */
export function takeClosable(sessions: OpenSession[], watermark: number, cfg: SessionConfig): OpenSession[] {
  let n = 0;
  while (n < sessions.length && closesAt(sessions[n]!, cfg) < watermark) n++;
  return n === 0 ? [] : sessions.splice(0, n);
}

export function closesAt(s: OpenSession, cfg: SessionConfig): number {
  return s.all.end + cfg.inactivityGapMs + cfg.graceMs;
}
