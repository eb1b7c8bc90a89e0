import { z } from 'zod';
import { STAGES, Stage, stageRank } from '../../../schemas/journey.js';
import { ChurnSignals, emptyChurnSignals } from './churn/signals.js';

export const DimensionsSchema = z.object({
  site: z.string(),
  channel: z.string(),
  campaign: z.string().nullable(),
  deviceType: z.string(),
  segment: z.string().nullable(),
});

/**
 * What BG/NBD needs of a customer's purchases. Purchases on the same UTC day count once, as in the
 * CDNOW calibration (and lifetimes' daily summaries), so a split order is not a "repeat purchase".
 */
export const PurchaseHistory = z.object({
  firstAt: z.number().nullable(),
  lastAt: z.number().nullable(),
  /** Purchase days after the first one: BG/NBD's x. */
  repeatCount: z.number().int().min(0),
});
export type PurchaseHistory = z.infer<typeof PurchaseHistory>;

/** What was last emitted as a churn score, so only meaningful changes are emitted again. */
export const ChurnMemo = z.object({
  scoredAt: z.number().nullable(),
  emittedScore: z.number().nullable(),
  emittedAction: z.string().nullable(),
  emittedAt: z.number().nullable(),
});
export type ChurnMemo = z.infer<typeof ChurnMemo>;

/**
 * One customer's journey. Plain data, so it snapshots to JSON for the changelog.
 * Invariants: `stage === null` iff `journeyNumber === 0`; `conversionDeadline` is set only while the
 * current stage has a next stage and its conversion window has neither converted nor expired;
 * `furthestStage` is the furthest stage of the current journey (a referral cycle resets it).
 */
export const JourneyStateSchema = z.object({
  customerId: z.string(),
  accountId: z.string().nullable(),
  stage: Stage.nullable(),
  enteredAt: z.number().nullable(),
  previousStage: Stage.nullable(),
  furthestStage: Stage.nullable(),
  journeyNumber: z.number().int().min(0),
  referrerCustomerId: z.string().nullable(),
  /** Completed time spent in each stage, ms, indexed by stage rank (the current stay is not included). */
  msInStage: z.array(z.number().min(0)).length(STAGES.length),
  /** The touchpoint that caused entry into the current stage: its dimensions label the funnel events. */
  entryMessageId: z.string().nullable(),
  entryDims: DimensionsSchema.nullable(),
  conversionDeadline: z.number().nullable(),
  purchases: PurchaseHistory,
  /** The journey clock: the latest touchpoint time seen (it never moves backwards). */
  lastActivityAt: z.number().nullable(),
  /** Last touchpoint classified at purchase or beyond: what keeps a retained customer from lapsing. */
  lastEngagedAt: z.number().nullable(),
  lastMessageId: z.string().nullable(),
  lastDims: DimensionsSchema.nullable(),
  signals: ChurnSignals,
  churn: ChurnMemo,
  /**
   * This customer id has had a funnel entry of its own. A survivor of an identity merge inherits
   * the absorbed id's stage but not this flag: its first classified touchpoint still counts as its
   * entry, exactly as if the absorbed state had arrived after it (see applyTouchpoint).
   * Snapshots written before the field existed had entries whenever they had a stage.
   */
  entered: z.boolean().optional(),
  /**
   * This id's own touchpoint started its first journey from no stage (it did not inherit a stage by
   * a merge), and no late conversion has been counted for that entry: a merged id's earlier entry
   * into the stage before may still count as its conversion, once (see merge.ts, lateConversion).
   */
  opened: z.boolean().optional(),
});
export type JourneyState = z.infer<typeof JourneyStateSchema>;

export function newJourneyState(customerId: string, accountId: string | null = null): JourneyState {
  return {
    customerId,
    accountId,
    stage: null,
    enteredAt: null,
    previousStage: null,
    furthestStage: null,
    journeyNumber: 0,
    referrerCustomerId: null,
    msInStage: STAGES.map(() => 0),
    entryMessageId: null,
    entryDims: null,
    conversionDeadline: null,
    purchases: { firstAt: null, lastAt: null, repeatCount: 0 },
    lastActivityAt: null,
    lastEngagedAt: null,
    lastMessageId: null,
    lastDims: null,
    signals: emptyChurnSignals(),
    churn: { scoredAt: null, emittedScore: null, emittedAction: null, emittedAt: null },
    entered: false,
  };
}

/**
 * A copy of `state` for the caller to change before anyone else sees it. Written out field by
 * field on purpose: V8 builds an object spread (`{ ...state, stage }`) of this size property by
 * property into a growing out-of-object array, ~656 bytes a copy, where one literal of every field
 * is a single in-object allocation of ~192 bytes; the journey step copies a state two or three times
 * per touchpoint (docs/performance.md, "Journey states copied field by field"). A field added to
 * JourneyState must be added here: the state-codec round-trip test fails otherwise.
 */
export function copyJourney(state: JourneyState): JourneyState {
  return {
    customerId: state.customerId,
    accountId: state.accountId,
    stage: state.stage,
    enteredAt: state.enteredAt,
    previousStage: state.previousStage,
    furthestStage: state.furthestStage,
    journeyNumber: state.journeyNumber,
    referrerCustomerId: state.referrerCustomerId,
    msInStage: state.msInStage,
    entryMessageId: state.entryMessageId,
    entryDims: state.entryDims,
    conversionDeadline: state.conversionDeadline,
    purchases: state.purchases,
    lastActivityAt: state.lastActivityAt,
    lastEngagedAt: state.lastEngagedAt,
    lastMessageId: state.lastMessageId,
    lastDims: state.lastDims,
    signals: state.signals,
    churn: state.churn,
    entered: state.entered,
    opened: state.opened,
  };
}

/** Whether this customer id has had a funnel entry of its own (see `entered`). */
export const hasOwnEntry = (state: JourneyState): boolean => state.entered ?? state.stage !== null;

/** Total time spent in `stage`, including the current stay when it is the current stage. */
export function timeInStageMs(state: JourneyState, stage: Stage, now: number): number {
  const done = state.msInStage[stageRank(stage)] ?? 0;
  return state.stage === stage && state.enteredAt !== null ? done + Math.max(0, now - state.enteredAt) : done;
}

export const hasPurchased = (state: JourneyState): boolean => state.purchases.firstAt !== null;

const DAY_MS = 86_400_000;

export function recordPurchase(p: PurchaseHistory, at: number): PurchaseHistory {
  if (p.firstAt === null || p.lastAt === null) return { firstAt: at, lastAt: at, repeatCount: 0 };
  const sameDay = Math.floor(at / DAY_MS) === Math.floor(p.lastAt / DAY_MS);
  return { firstAt: p.firstAt, lastAt: Math.max(p.lastAt, at), repeatCount: p.repeatCount + (sameDay ? 0 : 1) };
}
