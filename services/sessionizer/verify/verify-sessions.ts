import type { ClickHouseClient } from '@clickhouse/client';
import type { Touchpoint } from '../../../schemas/touchpoint.js';
import { sessionizeBatch } from '../core/reference.js';
import type { SessionizerConfig } from '../core/sessions.js';

/** What `verify` compares of a session: who, when, how many events. */
export interface SessionFacts {
  sessionId: string;
  customerId: string;
  startedAt: number;
  endedAt: number;
  eventCount: number;
}

export interface SessionMismatch {
  sessionId: string;
  /** The batch recomputation's session, or null (ClickHouse has a session the batch does not). */
  expected: SessionFacts | null;
  /** ClickHouse's session, or null (missing there). */
  found: SessionFacts | null;
}

export interface SessionsReport {
  touchpoints: number;
  expected: number;
  found: number;
  mismatches: number;
  /** The first few mismatches, to look at. */
  examples: SessionMismatch[];
}

export interface TouchpointFacts {
  messageId: string;
  customerId: string;
  timestamp: number;
  site: string;
}

/**
 * Compares the sessions the pipeline wrote with a batch recomputation from the touchpoints
 * (sessionizeBatch: per customer, sorted by time, cut at the inactivity gap and the maximum
 * length, repeats of a messageId dropped). Touchpoints are grouped by their customer's canonical
 * id now (`resolve`: identity merges since a touchpoint was written move it to the survivor, as
 * they moved its session). Late touchpoints must be left out by the caller: the pipeline keeps
 * them but never places them in a session (README, Sessions).
 */
export function compareSessions(touchpoints: readonly TouchpointFacts[], sessions: readonly SessionFacts[], resolve: (customerId: string) => string, config: SessionizerConfig): SessionsReport {
  const batch = sessionizeBatch(
    touchpoints.map((t) => ({ customerId: resolve(t.customerId), tp: { messageId: t.messageId, timestamp: t.timestamp, site: t.site } as Touchpoint })),
    { ...config, stageOf: () => null },
  );
  const found = new Map(sessions.map((s) => [s.sessionId, s]));
  const mismatches: SessionMismatch[] = [];
  for (const b of batch) {
    const expected: SessionFacts = { sessionId: b.sessionId, customerId: b.customerId, startedAt: b.startedAt, endedAt: b.endedAt, eventCount: b.eventCount };
    const actual = found.get(b.sessionId) ?? null;
    found.delete(b.sessionId);
    if (actual === null || actual.customerId !== expected.customerId || actual.startedAt !== expected.startedAt || actual.endedAt !== expected.endedAt || actual.eventCount !== expected.eventCount) {
      mismatches.push({ sessionId: b.sessionId, expected, found: actual });
    }
  }
  for (const extra of found.values()) mismatches.push({ sessionId: extra.sessionId, expected: null, found: extra });
  return { touchpoints: touchpoints.length, expected: batch.length, found: sessions.length, mismatches: mismatches.length, examples: mismatches.slice(0, 10) };
}

/** Reads both sides from ClickHouse (deduplicated with FINAL) and compares them. */
export async function verifySessions(client: ClickHouseClient, database: string, resolve: (customerId: string) => string, config: SessionizerConfig): Promise<SessionsReport> {
  const read = async <T>(query: string): Promise<T[]> => (await client.query({ query, format: 'JSONEachRow' })).json<T>();
  const touchpoints = await read<{ m: string; c: string; t: string | number; s: string }>(
    `SELECT message_id AS m, customer_id AS c, toUnixTimestamp64Milli(ts) AS t, site AS s FROM ${database}.touchpoints FINAL WHERE NOT late`,
  );
  const sessions = await read<{ id: string; c: string; a: string | number; b: string | number; n: string | number }>(
    `SELECT session_id AS id, customer_id AS c, toUnixTimestamp64Milli(started_at) AS a, toUnixTimestamp64Milli(ended_at) AS b, event_count AS n
     FROM ${database}.sessions FINAL WHERE status != 'merged'`,
  );
  return compareSessions(
    touchpoints.map((t) => ({ messageId: t.m, customerId: t.c, timestamp: Number(t.t), site: t.s })),
    sessions.map((s) => ({ sessionId: s.id, customerId: s.c, startedAt: Number(s.a), endedAt: Number(s.b), eventCount: Number(s.n) })),
    resolve,
    config,
  );
}
