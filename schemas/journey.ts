import { z } from 'zod';
import { Touchpoint } from './touchpoint.js';

/** The five journey stages, in funnel order. The journey is a cycle: advocacy can start a new journey. */
export const STAGES = ['awareness', 'consideration', 'purchase', 'retention', 'advocacy'] as const;
export const Stage = z.enum(STAGES);
export type Stage = z.infer<typeof Stage>;
export const stageRank = (s: Stage): number => STAGES.indexOf(s);

/**
 * A touchpoint attributed to a stitched customer and a session: what the sessionizer emits on
 * `customer-touchpoints`, keyed by customerId so every later consumer sees one customer in order.
 */
export const CustomerTouchpoint = z.object({
  customerId: z.string(),
  accountId: z.string().nullable(),
  sessionId: z.string(),
  late: z.boolean(),
  touchpoint: Touchpoint,
});
export type CustomerTouchpoint = z.infer<typeof CustomerTouchpoint>;

export const SessionStatus = z.enum(['opened', 'updated', 'closed', 'merged']);
/** A session record; the latest `version` for a sessionId wins (ReplacingMergeTree in ClickHouse). */
export const SessionRecord = z.object({
  sessionId: z.string(),
  customerId: z.string(),
  status: SessionStatus,
  version: z.number().int(),
  site: z.string(),
  startedAt: z.number().int(),
  endedAt: z.number().int(),
  eventCount: z.number().int(),
  channels: z.array(z.string()),
  entryEvent: z.string(),
  exitEvent: z.string(),
  entryUrl: z.string().nullable(),
  exitUrl: z.string().nullable(),
  furthestStage: Stage.nullable(),
  converted: z.boolean(),
});
export type SessionRecord = z.infer<typeof SessionRecord>;

export const StageTransition = z.object({
  transitionId: z.string(),
  customerId: z.string(),
  accountId: z.string().nullable(),
  fromStage: Stage.nullable(),
  toStage: Stage,
  at: z.number().int(),
  cause: z.string(),
  messageId: z.string(),
  site: z.string(),
  channel: z.string(),
  campaign: z.string().nullable(),
  deviceType: z.string(),
  segment: z.string().nullable(),
  referrerCustomerId: z.string().nullable(),
  journeyNumber: z.number().int(),
});
export type StageTransition = z.infer<typeof StageTransition>;

export const ChurnScore = z.object({
  customerId: z.string(),
  at: z.number().int(),
  score: z.number().min(0).max(1),
  pAlive: z.number().min(0).max(1),
  reasons: z.array(z.string()),
  nextAction: z.string(),
  stage: Stage.nullable(),
  crossedThreshold: z.boolean(),
});
export type ChurnScore = z.infer<typeof ChurnScore>;

export const AlertEvent = z.object({
  alertId: z.string(),
  monitor: z.string(),
  status: z.enum(['firing', 'resolved']),
  at: z.number().int(),
  since: z.number().int(),
  site: z.string(),
  step: z.string(),
  baselineRate: z.number(),
  observedRate: z.number(),
  dropPct: z.number(),
  statistic: z.number(),
  breakdownHint: z.string().nullable(),
  dashboardUrl: z.string(),
});
export type AlertEvent = z.infer<typeof AlertEvent>;

/** What the dead-letter topic carries: the original bytes (base64) and why they could not be processed. */
export const DeadLetter = z.object({
  sourceTopic: z.string(),
  stage: z.string(),
  reason: z.string(),
  at: z.number().int(),
  key: z.string().nullable(),
  payload: z.string(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;

/**
 * One row of rule-based attribution (topic `attribution`, table `attribution`): a touch's credit for
 * one conversion under one model, as the journey step computes it per conversion. `version` is the
 * number of touches the conversion's credit was computed from; a correction (a late touch, an
 * absorbed id's touches) has a higher one and replaces the rows of the same key.
 */
export const AttributionCredit = z.object({
  conversionId: z.string(),
  customerId: z.string(),
  site: z.string(),
  convertedAt: z.number().int(),
  model: z.string(),
  touchMessageId: z.string(),
  channel: z.string(),
  campaign: z.string().nullable(),
  touchAt: z.number().int(),
  credit: z.number().min(0).max(1),
  revenueShare: z.number().nullable(),
  version: z.number().int().min(1),
});
export type AttributionCredit = z.infer<typeof AttributionCredit>;

export const FunnelEventKind = z.enum(['entry', 'conversion', 'dropoff']);
/**
 * One increment of the per-minute funnel: a customer entered `stage`, converted from `fromStage`
 * into `stage` within the conversion window, or dropped off at `stage` (window expired).
 * eventId is deterministic so replays are idempotent.
 */
export const FunnelEvent = z.object({
  eventId: z.string(),
  kind: FunnelEventKind,
  fromStage: Stage.nullable(),
  stage: Stage,
  at: z.number().int(),
  customerId: z.string(),
  site: z.string(),
  channel: z.string(),
  campaign: z.string().nullable(),
  deviceType: z.string(),
  segment: z.string().nullable(),
  secondsToConvert: z.number().nullable(),
});
export type FunnelEvent = z.infer<typeof FunnelEvent>;

export const JourneyRecordKind = z.enum(['touchpoint', 'merge', 'absorbing', 'transfer', 'watermark', 'forget']);
/**
 * Envelope of the customer-keyed topics: an attributed touchpoint, a merge notice (this customer id
 * was absorbed into `mergeInto`), its counterpart to the survivor (`absorbing`: this customer is
 * about to receive `mergedFrom`'s state), a state transfer (the absorbed customer's state,
 * `mergedFrom`), a router partition's event-time progress (`watermark`), or a deletion (`forget`: drop every
 * state this customer id has here, README: Privacy).
 */
export const JourneyRecord = z.object({
  kind: JourneyRecordKind,
  customerId: z.string(),
  touchpoint: CustomerTouchpoint.nullable(),
  mergeInto: z.string().nullable(),
  mergedFrom: z.string().nullable(),
  state: z.instanceof(Buffer).nullable(),
  /** The touchpoints partition this record was routed from (touchpoint, watermark). */
  source: z.number().int().nullish(),
  /** That partition's max event time before this touchpoint, or up to here for a watermark. */
  sourceWatermark: z.number().nullish(),
  /** customer-touchpoints: the identified-touchpoints offset this was produced from (replays repeat it). */
  inputOffset: z.number().nullish(),
});
export type JourneyRecord = z.infer<typeof JourneyRecord>;
