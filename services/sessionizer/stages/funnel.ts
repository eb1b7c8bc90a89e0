import { STAGES, stageRank, type FunnelEvent, type Stage } from '../../../schemas/journey.js';
import { stableId } from './stable-id.js';
import type { Dimensions } from './touchpoint-facts.js';

/**
 * Funnel events, per customer:
 * - `entry` when the customer enters a stage;
 * - `conversion` when they move from stage i to i+1 within the conversion window of entering i
 *   (`secondsToConvert` = time since entering i);
 * - `dropoff` at stage i when the window expires (or the customer regresses) without converting.
 * Conversion and dropoff of one stage entry exclude each other: the window is settled once.
 *
 * A forward jump of several steps passes through the skipped stages: each gets an entry and a
 * 0-second conversion, so step-wise counts stay consistent (conversions out of i never exceed
 * entries into i). A customer seen for the first time enters only the stage they were classified
 * at: we do not invent history we never observed.
 *
 * Conversion and dropoff events carry the dimensions of the touchpoint that caused the entry into
 * the stage they leave, so a campaign's conversion rate divides by that campaign's entries.
 */

export function nextStage(stage: Stage): Stage | null {
  return STAGES[stageRank(stage) + 1] ?? null;
}

function event(kind: FunnelEvent['kind'], eventId: string, customerId: string, fromStage: Stage | null, stage: Stage, at: number, dims: Dimensions, secondsToConvert: number | null): FunnelEvent {
  return {
    eventId,
    kind,
    fromStage,
    stage,
    at,
    customerId,
    site: dims.site,
    channel: dims.channel,
    campaign: dims.campaign,
    deviceType: dims.deviceType,
    segment: dims.segment,
    secondsToConvert,
  };
}

export function entryEvent(customerId: string, stage: Stage, fromStage: Stage | null, at: number, dims: Dimensions, causeId: string): FunnelEvent {
  return event('entry', stableId('entry', customerId, stage, at, causeId), customerId, fromStage, stage, at, dims, null);
}

export function conversionEvent(customerId: string, fromStage: Stage, stage: Stage, at: number, enteredFromAt: number, dims: Dimensions, causeId: string): FunnelEvent {
  const id = stableId('conversion', customerId, fromStage, stage, at, causeId);
  return event('conversion', id, customerId, fromStage, stage, at, dims, Math.max(0, at - enteredFromAt) / 1000);
}

/** Keyed by the stage entry it settles, so a replay cannot emit two dropoffs for one entry. */
export function dropoffEvent(customerId: string, stage: Stage, enteredAt: number, at: number, dims: Dimensions): FunnelEvent {
  return event('dropoff', stableId('dropoff', customerId, stage, enteredAt), customerId, null, stage, at, dims, null);
}

export interface StageChange {
  customerId: string;
  from: Stage | null;
  fromEnteredAt: number | null;
  fromDims: Dimensions | null;
  /** The conversion window of the `from` entry is still open. */
  windowOpen: boolean;
  to: Stage;
  at: number;
  dims: Dimensions;
  /** What caused the change (messageId, or 'lapsed'): part of the event ids. */
  causeId: string;
}

/** The funnel events of one stage change (see the module comment for the rules). */
export function funnelEventsForChange(c: StageChange): FunnelEvent[] {
  const { customerId, from, to, at, dims, causeId } = c;
  if (from === null) return [entryEvent(customerId, to, null, at, dims, causeId)];
  const fromDims = c.fromDims ?? dims;
  const fromEnteredAt = c.fromEnteredAt ?? at;
  const out: FunnelEvent[] = [];
  if (stageRank(to) <= stageRank(from)) {
    // A regression or a new journey: the open window (if any) ends without a conversion.
    if (c.windowOpen) out.push(dropoffEvent(customerId, from, fromEnteredAt, at, fromDims));
    out.push(entryEvent(customerId, to, from, at, dims, causeId));
    return out;
  }
  for (let k = stageRank(from); k < stageRank(to); k++) {
    const stepFrom = STAGES[k]!;
    const stepTo = STAGES[k + 1]!;
    if (k > stageRank(from)) out.push(conversionEvent(customerId, stepFrom, stepTo, at, at, dims, causeId));
    else if (c.windowOpen) out.push(conversionEvent(customerId, stepFrom, stepTo, at, fromEnteredAt, fromDims, causeId));
    out.push(entryEvent(customerId, stepTo, stepFrom, at, dims, causeId));
  }
  return out;
}
