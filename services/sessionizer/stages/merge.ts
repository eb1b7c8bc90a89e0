import { stageRank, type FunnelEvent, type Stage, type StageTransition } from '../../../schemas/journey.js';
import { conversionEvent, entryEvent } from './funnel.js';
import { mergeSignals } from './churn/signals.js';
import { hasOwnEntry, type JourneyState, type PurchaseHistory } from './journey-state.js';
import type { StagesCoreConfig } from './stages-config.js';
import { stableId } from './stable-id.js';

/**
 * Merges the journey of a customer id that identity stitching folded into `survivorId`:
 * - current stage (with its entry, window and last touchpoint) from the more recently active state;
 * - furthest stage and journey number: the maximum;
 * - purchase histories combined (first = min, last = max, purchase days added up: the two ids are
 *   one person seen twice, so their purchases are distinct orders);
 * - churn signals added up; completed time in stage: the per-stage maximum (the two ids' stays
 *   overlap in time, so adding would double count).
 * A change of the survivor's current stage is reported as a transition with cause 'merged'. Entries
 * are not re-counted (both ids' entries were counted). One conversion is: see `lateConversion`.
 */
export function mergeJourneyStates(
  survivor: JourneyState | null,
  other: JourneyState,
  survivorId: string,
  config: StagesCoreConfig,
): { state: JourneyState; transitions: StageTransition[]; funnel: FunnelEvent[] } {
  const funnel = lateConversion(survivor, other, survivorId, config);
  const base = survivor ?? { ...other, churn: { scoredAt: null, emittedScore: null, emittedAction: null, emittedAt: null } };
  const s = survivor ?? other;
  // An id that never reached a stage (only an identify call, say) has no journey to offer, however
  // recent: taking its null stage would erase the other id's stage, and with it a conversion.
  const recent =
    s.stage === null ? other : other.stage === null ? s : (other.lastActivityAt ?? -Infinity) > (s.lastActivityAt ?? -Infinity) ? other : s;
  const maxStage = (a: Stage | null, b: Stage | null) => (a === null ? b : b === null ? a : stageRank(b) > stageRank(a) ? b : a);
  const maxOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

  const merged: JourneyState = {
    ...base,
    customerId: survivorId,
    accountId: s.accountId ?? other.accountId,
    stage: recent.stage,
    enteredAt: recent.enteredAt,
    previousStage: recent.previousStage,
    entryMessageId: recent.entryMessageId,
    entryDims: recent.entryDims,
    conversionDeadline: recent.conversionDeadline,
    lastMessageId: recent.lastMessageId,
    lastDims: recent.lastDims,
    furthestStage: maxStage(s.furthestStage, other.furthestStage),
    journeyNumber: Math.max(s.journeyNumber, other.journeyNumber),
    referrerCustomerId: s.referrerCustomerId ?? other.referrerCustomerId,
    msInStage: s.msInStage.map((ms, i) => Math.max(ms, other.msInStage[i] ?? 0)),
    purchases: survivor === null ? other.purchases : combinePurchases(survivor.purchases, other.purchases),
    lastActivityAt: maxOf(s.lastActivityAt, other.lastActivityAt),
    lastEngagedAt: maxOf(s.lastEngagedAt, other.lastEngagedAt),
    signals: survivor === null ? other.signals : mergeSignals(survivor.signals, other.signals, config.churn.signalHalfLifeMs),
    // The flag is about the survivor id's own funnel rows: the absorbed id's entries are not its.
    entered: survivor === null ? false : hasOwnEntry(survivor),
    // The survivor's opening entry stays current only if its stage does; a late conversion counts once.
    opened: survivor !== null && recent === survivor && survivor.opened === true && funnel.length === 0,
  };
  const before = survivor?.stage ?? null;
  if (merged.stage === null || merged.stage === before) return { state: merged, transitions: [], funnel };
  const dims = merged.entryDims ?? merged.lastDims;
  const transition: StageTransition = {
    transitionId: stableId('merged', survivorId, other.customerId, merged.stage),
    customerId: survivorId,
    accountId: merged.accountId,
    fromStage: before,
    toStage: merged.stage,
    at: merged.lastActivityAt ?? merged.enteredAt ?? 0,
    cause: 'merged',
    messageId: merged.lastMessageId ?? '',
    site: dims?.site ?? '',
    channel: dims?.channel ?? 'other',
    campaign: dims?.campaign ?? null,
    deviceType: dims?.deviceType ?? 'other',
    segment: dims?.segment ?? null,
    referrerCustomerId: merged.referrerCustomerId,
    journeyNumber: merged.journeyNumber,
  };
  return { state: merged, transitions: [transition], funnel };
}

/**
 * The conversion the survivor would have counted had the absorbed id's state arrived first: the
 * survivor's own touchpoint opened its journey at stage k (no previous stage, `opened`) and the
 * absorbed id had entered stage k−1 before that, within the conversion window. Which arrives first
 * (the transfer, or the survivor's next event) depends on timing between partitions; counting the
 * conversion in both orders keeps the funnel's per-customer counts independent of it. The
 * survivor's entry is emitted again with the stage it came from, under the same event id: it
 * replaces the first one (ReplacingMergeTree), so the rows are those of the other order too.
 *
 * A stage the survivor inherited from an earlier merge is not its own entry: a conversion into it
 * would depend on which of several absorbed ids arrived first (merges must commute). For the same
 * reason it is counted once, whichever qualifying absorbed id comes first.
 */
function lateConversion(survivor: JourneyState | null, other: JourneyState, survivorId: string, config: StagesCoreConfig): FunnelEvent[] {
  if (!survivor || survivor.opened !== true || survivor.stage === null || survivor.previousStage !== null || survivor.enteredAt === null) return [];
  if (other.stage === null || other.enteredAt === null || other.journeyNumber !== survivor.journeyNumber) return [];
  if (stageRank(other.stage) !== stageRank(survivor.stage) - 1) return [];
  if (other.enteredAt > survivor.enteredAt || survivor.enteredAt - other.enteredAt > config.conversionWindowMs) return [];
  const dims = other.entryDims ?? other.lastDims ?? survivor.entryDims;
  if (!dims) return [];
  const causeId = survivor.entryMessageId ?? '';
  return [
    conversionEvent(survivorId, other.stage, survivor.stage, survivor.enteredAt, other.enteredAt, dims, causeId),
    entryEvent(survivorId, survivor.stage, other.stage, survivor.enteredAt, survivor.entryDims ?? dims, causeId),
  ];
}

function combinePurchases(a: PurchaseHistory, b: PurchaseHistory): PurchaseHistory {
  if (a.firstAt === null) return b;
  if (b.firstAt === null) return a;
  return {
    firstAt: Math.min(a.firstAt, b.firstAt),
    lastAt: Math.max(a.lastAt ?? a.firstAt, b.lastAt ?? b.firstAt),
    // (a.repeat + 1) + (b.repeat + 1) purchase days, minus the first one.
    repeatCount: a.repeatCount + b.repeatCount + 1,
  };
}
