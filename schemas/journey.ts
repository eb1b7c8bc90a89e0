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
/** A session's 128-bit key as UUID text; all zeros for a record of a session.v1 writer. */
export const SESSION_UID_UNKNOWN = '00000000-0000-0000-0000-000000000000';
export const SessionRecord = z.object({
  sessionId: z.string(),
  /** The session's 128-bit key (the sessions table's sort key with sessionId): first event time + messageId hash. */
  sessionUid: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
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
export type JourneyRecordKind = z.infer<typeof JourneyRecordKind>;

/** A customer id as a record key: never empty (only a watermark, which concerns no customer, has ''). */
const CustomerKey = z.string().min(1);
/** A field of the shared Avro envelope that this kind does not use: null on the wire. */
const Unused = z.null();
/**
 * Where a record stands in the pipeline, on any kind (a held record keeps its `inputOffset`).
 * `source`: the touchpoints partition it was routed from; `sourceWatermark`: that partition's max
 * event time before this touchpoint, or up to here for a watermark; `inputOffset`
 * (customer-touchpoints, held records): the identified-touchpoints offset it was produced from.
 */
const position = {
  source: z.number().int().min(0).nullish(),
  sourceWatermark: z.number().nullish(),
  inputOffset: z.number().nullish(),
};

/** A touchpoint attributed to `customerId` (the router's, then the journey step's with its session). */
export const TouchpointRecord = z.object({ kind: z.literal('touchpoint'), customerId: CustomerKey, touchpoint: CustomerTouchpoint, mergeInto: Unused, mergedFrom: Unused, state: Unused, ...position });
/** `customerId` was absorbed into `mergeInto`: its owner exports its state to the survivor. */
export const MergeRecord = z
  .object({ kind: z.literal('merge'), customerId: CustomerKey, touchpoint: Unused, mergeInto: CustomerKey, mergedFrom: Unused, state: Unused, ...position })
  .refine((r) => r.mergeInto !== r.customerId, { message: 'a customer cannot be merged into itself', path: ['mergeInto'] });
/** The survivor `customerId` is about to receive `mergedFrom`'s state: its owner holds its records until then. */
export const AbsorbingRecord = z
  .object({ kind: z.literal('absorbing'), customerId: CustomerKey, touchpoint: Unused, mergeInto: Unused, mergedFrom: CustomerKey, state: Unused, ...position })
  .refine((r) => r.mergedFrom !== r.customerId, { message: 'a customer cannot absorb itself', path: ['mergedFrom'] });
/** The absorbed `mergedFrom`'s state for the survivor `customerId` (null: it had none there). */
export const TransferRecord = z
  .object({ kind: z.literal('transfer'), customerId: CustomerKey, touchpoint: Unused, mergeInto: Unused, mergedFrom: CustomerKey, state: z.instanceof(Buffer).nullable(), ...position })
  .refine((r) => r.mergedFrom !== r.customerId, { message: 'a customer cannot receive its own state', path: ['mergedFrom'] });
/** How far the router's input partition `source` has come in event time (`sourceWatermark` null: it was empty when the router looked). */
export const WatermarkRecord = z.object({
  kind: z.literal('watermark'),
  customerId: z.literal(''),
  touchpoint: Unused,
  mergeInto: Unused,
  mergedFrom: Unused,
  state: Unused,
  source: z.number().int().min(0),
  sourceWatermark: z.number().nullable(),
  inputOffset: z.number().nullish(),
});
/** A deletion (README: Privacy): the owner drops every state `customerId` has there. */
export const ForgetRecord = z.object({ kind: z.literal('forget'), customerId: CustomerKey, touchpoint: Unused, mergeInto: Unused, mergedFrom: Unused, state: Unused, ...position });

/**
 * What the customer-keyed topics (identified-touchpoints, customer-touchpoints) carry, one shape
 * per kind. On the wire every kind shares one Avro envelope of nullable fields
 * (`avro/journey-record.v2.avsc`); the topic codec checks a decoded envelope against this union, so
 * a record whose fields do not fit its kind (a touchpoint without one, a merge without a survivor)
 * is refused with the reason (SchemaDecodeError) and dead-lettered by its reader.
 */
export const JourneyRecord = z.discriminatedUnion('kind', [TouchpointRecord, MergeRecord, AbsorbingRecord, TransferRecord, WatermarkRecord, ForgetRecord]);
export type JourneyRecord = z.infer<typeof JourneyRecord>;
export type TouchpointRecord = z.infer<typeof TouchpointRecord>;
export type MergeRecord = z.infer<typeof MergeRecord>;
export type TransferRecord = z.infer<typeof TransferRecord>;
export type WatermarkRecord = z.infer<typeof WatermarkRecord>;
