import type {
  AlertEvent,
  AttributionCredit,
  ChurnScore,
  CustomerTouchpoint,
  DeadLetter,
  FunnelEvent,
  SessionRecord,
  StageTransition,
} from '../../../schemas/journey.js';
import type { TopicKey } from '../../../schemas/topics.js';
import type { HeuristicModel } from '../attribution/heuristic.js';
import type { AttributionRow } from './attribution-rows.js';

/**
 * Pure mappers from the pipeline's event types to ClickHouse rows (JSONEachRow, snake_case columns
 * of migrations/*.sql). Times are sent as 'YYYY-MM-DD hh:mm:ss.mmm' UTC strings: DateTime64(3) columns
 * read that exactly under both `date_time_input_format` basic and best_effort, whereas a bare number
 * is read as seconds or milliseconds depending on its digit count and the setting.
 */
export function chDateTime64(epochMs: number): string {
  // The writer formats a few of these per row (12% of its JavaScript thread when each one went
  // through a Date and its ISO text): the text up to the minute is kept per minute, and only the
  // seconds and milliseconds are written. Equal to the ISO form for every whole ms of years 1970–9999.
  if (!Number.isInteger(epochMs) || epochMs < 0 || epochMs >= MAX_FOUR_DIGIT_YEAR_MS) return isoDateTime64(epochMs);
  const minute = Math.floor(epochMs / 60_000);
  const slot = minute & (MINUTE_SLOTS - 1);
  let prefix = minutePrefixes[slot];
  if (minuteOfSlot[slot] !== minute || prefix === undefined) {
    prefix = isoDateTime64(minute * 60_000).slice(0, 17); // 'YYYY-MM-DD hh:mm:'
    minutePrefixes[slot] = prefix;
    minuteOfSlot[slot] = minute;
  }
  const inMinute = epochMs - minute * 60_000;
  const seconds = Math.floor(inMinute / 1_000);
  const ms = inMinute - seconds * 1_000;
  return `${prefix}${seconds < 10 ? '0' : ''}${seconds}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}`;
}

function isoDateTime64(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').replace('Z', '');
}

/** 10000-01-01T00:00:00Z: from here toISOString writes a six-digit year with a sign. */
const MAX_FOUR_DIGIT_YEAR_MS = 253_402_300_800_000;
/** A block's timestamps fall in a few minutes (event time, receive time): direct-mapped by minute. */
const MINUTE_SLOTS = 64;
const minuteOfSlot = new Float64Array(MINUTE_SLOTS).fill(-1);
const minutePrefixes: Array<string | undefined> = new Array(MINUTE_SLOTS);

export interface TouchpointRow {
  message_id: string;
  customer_id: string;
  account_id: string | null;
  session_id: string;
  type: string;
  event: string;
  anonymous_id: string | null;
  user_id: string | null;
  source: string;
  site: string;
  channel: string;
  ts: string;
  received_at: string;
  url: string | null;
  path: string | null;
  utm_campaign: string | null;
  device_type: string;
  segment: string | null;
  revenue: number | null;
  late: boolean;
  properties: string;
}

export function touchpointRow(ctp: CustomerTouchpoint): TouchpointRow {
  const t = ctp.touchpoint;
  return {
    message_id: t.messageId,
    customer_id: ctp.customerId,
    account_id: ctp.accountId,
    session_id: ctp.sessionId,
    type: t.type,
    event: t.event,
    anonymous_id: t.anonymousId,
    user_id: t.userId,
    source: t.source,
    site: t.site,
    channel: t.channel,
    ts: chDateTime64(t.timestamp),
    received_at: chDateTime64(t.receivedAt),
    url: t.url,
    path: t.path,
    utm_campaign: t.utmCampaign,
    device_type: t.deviceType,
    segment: t.segment,
    revenue: t.revenue,
    late: ctp.late,
    properties: t.properties,
  };
}

export interface SessionRow {
  session_id: string;
  /** UUID text: with session_id, the sort key (migration 020). */
  session_uid: string;
  customer_id: string;
  status: string;
  version: number;
  site: string;
  started_at: string;
  ended_at: string;
  event_count: number;
  channels: string[];
  entry_event: string;
  exit_event: string;
  entry_url: string | null;
  exit_url: string | null;
  furthest_stage: string | null;
  converted: boolean;
}

export function sessionRow(s: SessionRecord): SessionRow {
  return {
    session_id: s.sessionId,
    session_uid: s.sessionUid,
    customer_id: s.customerId,
    status: s.status,
    version: s.version,
    site: s.site,
    started_at: chDateTime64(s.startedAt),
    ended_at: chDateTime64(s.endedAt),
    event_count: s.eventCount,
    channels: s.channels,
    entry_event: s.entryEvent,
    exit_event: s.exitEvent,
    entry_url: s.entryUrl,
    exit_url: s.exitUrl,
    furthest_stage: s.furthestStage,
    converted: s.converted,
  };
}

export interface TransitionRow {
  transition_id: string;
  customer_id: string;
  account_id: string | null;
  from_stage: string | null;
  to_stage: string;
  at: string;
  cause: string;
  message_id: string;
  site: string;
  channel: string;
  campaign: string | null;
  device_type: string;
  segment: string | null;
  referrer_customer_id: string | null;
  journey_number: number;
}

export function transitionRow(t: StageTransition): TransitionRow {
  return {
    transition_id: t.transitionId,
    customer_id: t.customerId,
    account_id: t.accountId,
    from_stage: t.fromStage,
    to_stage: t.toStage,
    at: chDateTime64(t.at),
    cause: t.cause,
    message_id: t.messageId,
    site: t.site,
    channel: t.channel,
    campaign: t.campaign,
    device_type: t.deviceType,
    segment: t.segment,
    referrer_customer_id: t.referrerCustomerId,
    journey_number: t.journeyNumber,
  };
}

export interface FunnelEventRow {
  event_id: string;
  kind: string;
  from_stage: string | null;
  stage: string;
  at: string;
  customer_id: string;
  site: string;
  channel: string;
  campaign: string | null;
  device_type: string;
  segment: string | null;
  seconds_to_convert: number | null;
}

export function funnelEventRow(e: FunnelEvent): FunnelEventRow {
  return {
    event_id: e.eventId,
    kind: e.kind,
    from_stage: e.fromStage,
    stage: e.stage,
    at: chDateTime64(e.at),
    customer_id: e.customerId,
    site: e.site,
    channel: e.channel,
    campaign: e.campaign,
    device_type: e.deviceType,
    segment: e.segment,
    seconds_to_convert: e.secondsToConvert,
  };
}

export interface ChurnRow {
  customer_id: string;
  at: string;
  score: number;
  p_alive: number;
  reasons: string[];
  next_action: string;
  stage: string | null;
  crossed_threshold: boolean;
}

export function churnRow(c: ChurnScore): ChurnRow {
  return {
    customer_id: c.customerId,
    at: chDateTime64(c.at),
    score: c.score,
    p_alive: c.pAlive,
    reasons: c.reasons,
    next_action: c.nextAction,
    stage: c.stage,
    crossed_threshold: c.crossedThreshold,
  };
}

export interface AlertRow {
  alert_id: string;
  monitor: string;
  status: string;
  at: string;
  since: string;
  site: string;
  step: string;
  baseline_rate: number;
  observed_rate: number;
  drop_pct: number;
  statistic: number;
  breakdown_hint: string | null;
  dashboard_url: string;
}

export function alertRow(a: AlertEvent): AlertRow {
  return {
    alert_id: a.alertId,
    monitor: a.monitor,
    status: a.status,
    at: chDateTime64(a.at),
    since: chDateTime64(a.since),
    site: a.site,
    step: a.step,
    baseline_rate: a.baselineRate,
    observed_rate: a.observedRate,
    drop_pct: a.dropPct,
    statistic: a.statistic,
    breakdown_hint: a.breakdownHint,
    dashboard_url: a.dashboardUrl,
  };
}

export interface DeadLetterRow {
  source_topic: string;
  stage: string;
  reason: string;
  at: string;
  key: string | null;
  payload: string;
}

export function deadLetterRow(d: DeadLetter): DeadLetterRow {
  return {
    source_topic: d.sourceTopic,
    stage: d.stage,
    reason: d.reason,
    at: chDateTime64(d.at),
    key: d.key,
    payload: d.payload,
  };
}

/** An attribution record as its row (the same columns `attributionRows` fills from a credit list). */
export function attributionCreditRow(c: AttributionCredit): AttributionRow {
  return {
    conversion_id: c.conversionId,
    customer_id: c.customerId,
    site: c.site,
    converted_at: chDateTime64(c.convertedAt),
    model: c.model as HeuristicModel,
    touch_message_id: c.touchMessageId,
    channel: c.channel,
    campaign: c.campaign,
    touch_at: chDateTime64(c.touchAt),
    credit: c.credit,
    revenue_share: c.revenueShare,
    version: c.version,
  };
}

/** The value type each written topic carries. */
export interface TopicValues {
  customerTouchpoints: CustomerTouchpoint;
  sessions: SessionRecord;
  stageTransitions: StageTransition;
  funnelEvents: FunnelEvent;
  churnScores: ChurnScore;
  alerts: AlertEvent;
  deadLetter: DeadLetter;
  attribution: AttributionCredit;
}
export type WrittenTopicKey = keyof TopicValues & TopicKey;

export interface TableMapping<T> {
  /** The table name without database; on a cluster it is the Distributed table. */
  readonly table: string;
  readonly toRow: (value: T) => object;
}

/** Which table each topic lands in, and how a value becomes a row. */
export const TABLE_FOR_TOPIC: { readonly [K in WrittenTopicKey]: TableMapping<TopicValues[K]> } = {
  customerTouchpoints: { table: 'touchpoints', toRow: touchpointRow },
  sessions: { table: 'sessions', toRow: sessionRow },
  stageTransitions: { table: 'stage_transitions', toRow: transitionRow },
  funnelEvents: { table: 'funnel_events', toRow: funnelEventRow },
  churnScores: { table: 'churn_scores', toRow: churnRow },
  alerts: { table: 'alerts', toRow: alertRow },
  deadLetter: { table: 'dead_letters', toRow: deadLetterRow },
  attribution: { table: 'attribution', toRow: attributionCreditRow },
};
