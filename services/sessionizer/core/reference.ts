import type { Touchpoint } from '../../../schemas/touchpoint.js';
import { STAGES, stageRank, type Stage } from '../../../schemas/journey.js';
import { CHANNELS } from '../../../schemas/touchpoint.js';
import { cyrb53 } from './hash.js';
import { sessionIdOf, sessionUidOf } from './session-summary.js';
import type { SessionizerConfig } from './sessions.js';

/** A final session as the batch reference computes it. */
export interface BatchSession {
  sessionId: string;
  sessionUid: string;
  customerId: string;
  site: string;
  startedAt: number;
  endedAt: number;
  eventCount: number;
  channels: string[];
  entryEvent: string;
  exitEvent: string;
  entryUrl: string | null;
  exitUrl: string | null;
  furthestStage: Stage | null;
  converted: boolean;
}

interface Keyed {
  tp: Touchpoint;
  hash: number;
}

/**
 * The plain batch definition the streaming sessionizer must agree with: per customer, sort events
 * by (time, messageId hash), drop repeats of a messageId within the dedup window, then cut greedily:
 * an event opens a new session when it is more than the gap after the previous event or at least
 * maxSessionMs after the session's first event. The id is derived from the first event's messageId.
 */
export function sessionizeBatch(
  events: ReadonlyArray<{ tp: Touchpoint; customerId: string }>,
  config: SessionizerConfig,
): BatchSession[] {
  const byCustomer = new Map<string, Keyed[]>();
  for (const { tp, customerId } of events) {
    const list = byCustomer.get(customerId) ?? [];
    list.push({ tp, hash: cyrb53(tp.messageId) });
    byCustomer.set(customerId, list);
  }
  const out: BatchSession[] = [];
  for (const [customerId, list] of byCustomer) {
    list.sort((x, y) => x.tp.timestamp - y.tp.timestamp || x.hash - y.hash);
    const keptAt = new Map<string, number>();
    let session: Keyed[] = [];
    for (const e of list) {
      const first = keptAt.get(e.tp.messageId);
      if (first !== undefined && Math.abs(e.tp.timestamp - first) <= config.dedupWindowMs) continue;
      keptAt.set(e.tp.messageId, e.tp.timestamp);
      const head = session[0];
      const last = session[session.length - 1];
      if (
        head &&
        last &&
        (e.tp.timestamp - last.tp.timestamp > config.inactivityGapMs || e.tp.timestamp - head.tp.timestamp >= config.maxSessionMs)
      ) {
        out.push(describe(customerId, session, config));
        session = [];
      }
      session.push(e);
    }
    if (session.length > 0) out.push(describe(customerId, session, config));
  }
  return out;
}

function describe(customerId: string, events: Keyed[], config: SessionizerConfig): BatchSession {
  const first = events[0]!;
  const last = events[events.length - 1]!;
  const stages = events.map((e) => config.stageOf(e.tp));
  const ranks = stages.map((s) => (s === null ? -1 : stageRank(s)));
  const furthest = Math.max(...ranks);
  const seen = new Set(events.map((e) => e.tp.channel));
  return {
    sessionId: sessionIdOf(first.hash),
    sessionUid: sessionUidOf(first.tp.timestamp, first.hash),
    customerId,
    site: first.tp.site,
    startedAt: first.tp.timestamp,
    endedAt: last.tp.timestamp,
    eventCount: events.length,
    channels: CHANNELS.filter((c) => seen.has(c)),
    entryEvent: first.tp.event,
    exitEvent: last.tp.event,
    entryUrl: first.tp.url,
    exitUrl: last.tp.url,
    furthestStage: furthest < 0 ? null : (STAGES[furthest] ?? null),
    converted: stages.includes('purchase'),
  };
}
