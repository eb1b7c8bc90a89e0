import type { Stage } from '../../../schemas/journey.js';
import { NotFoundError } from '../params.js';
import type { QueryRunner } from '../runner.js';
import { resolveCustomer, type ResolvedCustomer } from './customer-identity.js';
import { ONE_CUSTOMER_SETTINGS } from './one-customer.js';
import { iso } from './window.js';
import type { ChurnRisk } from './churn.js';

/** Bounds of one profile: the newest transitions and sessions, so a read never grows with a customer's age. */
export const MAX_TRANSITIONS = 100;
export const RECENT_SESSIONS = 10;

export interface JourneyRow {
  customer_id: string;
  stage: Stage;
  entered_at_ms: string | number;
  previous_stage: Stage | null;
  furthest_stage: Stage | null;
  account_id: string | null;
  journey_number: string | number;
}

export interface TransitionRow {
  transition_id: string;
  customer_id: string;
  from_stage: Stage | null;
  to_stage: Stage;
  at_ms: string | number;
  cause: string;
  site: string;
  channel: string;
  journey_number: string | number;
}

export interface SessionRow {
  session_id: string;
  customer_id: string;
  status: 'opened' | 'updated' | 'closed' | 'merged';
  site: string;
  started_at_ms: string | number;
  ended_at_ms: string | number;
  event_count: string | number;
  channels: string[];
  entry_event: string;
  exit_event: string;
  entry_url: string | null;
  exit_url: string | null;
  furthest_stage: Stage | null;
  converted: boolean | number;
}

export interface ChurnRow {
  customer_id: string;
  at_ms: string | number;
  score: number;
  p_alive: number;
  reasons: string[];
  next_action: string;
  stage: Stage | null;
  crossed_threshold: boolean | number;
}

export interface ProfileRows {
  journeys: JourneyRow[];
  transitions: TransitionRow[];
  sessions: SessionRow[];
  churn: ChurnRow[];
  touchpointAccount: { account_id: string }[];
}

export interface CustomerProfile {
  customerId: string;
  linkedIds: string[];
  linkedIdsComplete: boolean;
  stage: {
    current: Stage;
    enteredAt: string;
    previous: Stage | null;
    furthest: Stage | null;
    journeyNumber: number;
    customerId: string;
  } | null;
  transitions: {
    transitionId: string;
    customerId: string;
    from: Stage | null;
    to: Stage;
    at: string;
    cause: string;
    site: string;
    channel: string;
    journeyNumber: number;
  }[];
  sessions: {
    sessionId: string;
    customerId: string;
    status: 'opened' | 'updated' | 'closed';
    site: string;
    startedAt: string;
    endedAt: string;
    eventCount: number;
    channels: string[];
    entryEvent: string;
    exitEvent: string;
    entryUrl: string | null;
    exitUrl: string | null;
    furthestStage: Stage | null;
    converted: boolean;
  }[];
  /** The newest churn score, as the churn list gives it. */
  churn: ChurnRisk | null;
  account: { accountId: string } | null;
}

const ms = (v: string | number): number => Number(v);

/**
 * The profile from the rows read for every linked id. The current stage is the linked journey
 * entered last (the journey merge also lets the more recently active id's stage win); the account
 * is the newest touchpoint's, else the journey's. Transitions come oldest first, sessions and
 * nothing else newest first. Null when no table knows any of the ids.
 */
export function shapeProfile(resolved: ResolvedCustomer, rows: ProfileRows): CustomerProfile | null {
  const known =
    resolved.seenInTouchpoints || rows.journeys.length + rows.transitions.length + rows.sessions.length + rows.churn.length > 0;
  if (!known) return null;
  const journey = [...rows.journeys].sort((a, b) => ms(b.entered_at_ms) - ms(a.entered_at_ms) || (a.customer_id < b.customer_id ? -1 : 1))[0];
  const churn = [...rows.churn].sort((a, b) => ms(b.at_ms) - ms(a.at_ms))[0];
  const accountId = rows.touchpointAccount[0]?.account_id ?? journey?.account_id ?? rows.journeys.find((j) => j.account_id !== null)?.account_id ?? null;
  return {
    customerId: resolved.customerId,
    linkedIds: resolved.linkedIds,
    linkedIdsComplete: !resolved.truncated,
    stage: journey
      ? {
          current: journey.stage,
          enteredAt: iso(ms(journey.entered_at_ms)),
          previous: journey.previous_stage,
          furthest: journey.furthest_stage,
          journeyNumber: Number(journey.journey_number),
          customerId: journey.customer_id,
        }
      : null,
    transitions: [...rows.transitions]
      .sort((a, b) => ms(a.at_ms) - ms(b.at_ms) || (a.transition_id < b.transition_id ? -1 : 1))
      .map((t) => ({
        transitionId: t.transition_id,
        customerId: t.customer_id,
        from: t.from_stage,
        to: t.to_stage,
        at: iso(ms(t.at_ms)),
        cause: t.cause,
        site: t.site,
        channel: t.channel,
        journeyNumber: Number(t.journey_number),
      })),
    sessions: rows.sessions
      .filter((s): s is SessionRow & { status: 'opened' | 'updated' | 'closed' } => s.status !== 'merged')
      .map((s) => ({
        sessionId: s.session_id,
        customerId: s.customer_id,
        status: s.status,
        site: s.site,
        startedAt: iso(ms(s.started_at_ms)),
        endedAt: iso(ms(s.ended_at_ms)),
        eventCount: Number(s.event_count),
        channels: s.channels,
        entryEvent: s.entry_event,
        exitEvent: s.exit_event,
        entryUrl: s.entry_url,
        exitUrl: s.exit_url,
        furthestStage: s.furthest_stage,
        converted: Boolean(s.converted),
      })),
    churn: churn
      ? {
          customerId: churn.customer_id,
          score: churn.score,
          pAlive: churn.p_alive,
          reasons: churn.reasons,
          nextAction: churn.next_action,
          stage: churn.stage,
          crossedThreshold: Boolean(churn.crossed_threshold),
          at: iso(ms(churn.at_ms)),
        }
      : null,
    account: accountId === null ? null : { accountId },
  };
}

/** One customer_summary row (migration 034), finalized: each part NULL when its source has no row for the id. */
export interface SummaryRow {
  customer_id: string;
  stage: Stage;
  entered_at_ms: string | number | null;
  previous_stage: Stage | null;
  furthest_stage: Stage | null;
  journey_account_id: string | null;
  journey_number: string | number;
  churn_at_ms: string | number | null;
  churn: Omit<ChurnRow, 'customer_id' | 'at_ms'>;
  account_at_ms: string | number | null;
  account_id: string;
}

/** The journey, churn and account rows of the linked ids, from their summary rows. */
export function splitSummary(rows: readonly SummaryRow[]): Pick<ProfileRows, 'journeys' | 'churn' | 'touchpointAccount'> {
  const journeys: JourneyRow[] = rows
    .filter((r) => r.entered_at_ms !== null)
    .map((r) => ({
      customer_id: r.customer_id,
      stage: r.stage,
      entered_at_ms: r.entered_at_ms!,
      previous_stage: r.previous_stage,
      furthest_stage: r.furthest_stage,
      account_id: r.journey_account_id,
      journey_number: r.journey_number,
    }));
  const churn: ChurnRow[] = rows.filter((r) => r.churn_at_ms !== null).map((r) => ({ ...r.churn, customer_id: r.customer_id, at_ms: r.churn_at_ms! }));
  const newestAccount = rows.filter((r) => r.account_at_ms !== null).sort((a, b) => ms(b.account_at_ms!) - ms(a.account_at_ms!))[0];
  return { journeys, churn, touchpointAccount: newestAccount ? [{ account_id: newestAccount.account_id }] : [] };
}

// customer_summary holds, per id, the journey as customer_journey does, the newest churn score (as
// churn_scores' ReplacingMergeTree(at) keeps it) and the newest touchpoint account: one lookup of one
// small granule instead of three (migration 034).
const SUMMARY_SQL = `SELECT customer_id, argMaxMerge(stage) AS stage, toUnixTimestamp64Milli(max(entered_at)) AS entered_at_ms,
  argMaxMerge(previous_stage) AS previous_stage, tupleElement(max(furthest), 2) AS furthest_stage,
  argMaxMerge(journey_account_id) AS journey_account_id, max(journey_number) AS journey_number,
  toUnixTimestamp64Milli(max(churn_at)) AS churn_at_ms, argMaxMerge(churn) AS churn,
  toUnixTimestamp64Milli(max(account_at)) AS account_at_ms, argMaxMerge(account_id) AS account_id
FROM {db}.customer_summary
WHERE customer_id IN {ids:Array(String)}
GROUP BY customer_id
${ONE_CUSTOMER_SETTINGS}`;

// stage_transitions_by_customer (migration 032): the customer's transitions by the sort key. LIMIT 1
// BY transition_id instead of FINAL: every column is fixed per transition_id, so this is the same
// answer without merging at read time.
const TRANSITIONS_SQL = `SELECT transition_id, customer_id, from_stage, to_stage, toUnixTimestamp64Milli(at) AS at_ms,
  cause, site, channel, journey_number
FROM {db}.stage_transitions_by_customer
WHERE customer_id IN {ids:Array(String)}
ORDER BY at DESC, transition_id DESC
LIMIT 1 BY transition_id
LIMIT ${MAX_TRANSITIONS}
${ONE_CUSTOMER_SETTINGS}`;

// sessions_by_customer (migration 033) holds every version under the customer it names. A version
// moves a session to another customer only when an identity merge links the two, so the newest
// version of each of the linked ids' sessions is among their rows (when the linked ids are complete;
// see linkedIdsComplete); the 128-bit session_uid keeps two sessions with the same 53-bit session_id
// apart. A session whose newest version names an id outside this customer (or says `merged`) is not
// theirs now.
const SESSIONS_SQL = `SELECT session_id, customer_id, status, site, started_at_ms, ended_at_ms, event_count, channels,
  entry_event, exit_event, entry_url, exit_url, furthest_stage, converted
FROM (
  SELECT session_id, customer_id, status, site, toUnixTimestamp64Milli(started_at) AS started_at_ms,
    toUnixTimestamp64Milli(ended_at) AS ended_at_ms, event_count, channels, entry_event, exit_event,
    entry_url, exit_url, furthest_stage, converted
  FROM {db}.sessions_by_customer
  WHERE customer_id IN {ids:Array(String)}
  ORDER BY session_id, session_uid, version DESC
  LIMIT 1 BY session_id, session_uid
)
WHERE status != 'merged'
ORDER BY started_at_ms DESC, session_id
LIMIT ${RECENT_SESSIONS}
${ONE_CUSTOMER_SETTINGS}`;

export async function customerProfile(db: QueryRunner, id: string): Promise<CustomerProfile> {
  const endpoint = 'customer-profile';
  const resolved = await resolveCustomer(db, endpoint, id);
  const params = { ids: resolved.linkedIds };
  const [summary, transitions, sessions] = await Promise.all([
    db.rows<SummaryRow>(endpoint, SUMMARY_SQL, params),
    db.rows<TransitionRow>(endpoint, TRANSITIONS_SQL, params),
    db.rows<SessionRow>(endpoint, SESSIONS_SQL, params),
  ]);
  const profile = shapeProfile(resolved, { ...splitSummary(summary), transitions, sessions });
  if (!profile) throw new NotFoundError(`no customer with id ${JSON.stringify(id)}`);
  return profile;
}
