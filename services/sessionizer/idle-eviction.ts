import type { AttributionOptions } from './attribution/attribution-partition.js';
import { removeCustomerState, type CustomerStores } from './forget/forget-customer.js';
import type { StagesCoreConfig } from './stages/stages-config.js';

const DAY_MS = 86_400_000;

/** How long state may stay idle, in event time (README: Known limits). */
export interface EvictionLimits {
  /** A customer silent this long (its last event before the partition's event time less this) leaves, all of its state. */
  customerIdleMs: number;
  /** A merge-ledger entry (`fwd:`, `imp:`) leaves this long after its merge. */
  mergeLedgerIdleMs: number;
}

export const DEFAULT_EVICTION_LIMITS: EvictionLimits = { customerIdleMs: 400 * DAY_MS, mergeLedgerIdleMs: 30 * DAY_MS };

/**
 * A round over every customer and ledger entry starts at most once per this much event time: the
 * check costs a visit per key, so it runs rarely; eviction is at most this late (and the on-arrival
 * rule, `beforeTouchpoint`, makes the result independent of when the round ran).
 */
export const EVICTION_ROUND_MS = 3_600_000;

/**
 * The same round keeps encoded again the journeys quiet this long in event time (a touchpoint or
 * a merge decoded them): memory follows the recently active customers, and a customer in the
 * middle of a visit is not decoded for every touchpoint (a visit ends after 30 quiet minutes, the
 * session gap). Two hours, not a day: over 2.4 days of simulated traffic (54,000 customers, the
 * rounds hourly) a day kept 23,000 journeys decoded at the end against 2,200, 8 MB more heap
 * (~390 B per journey), for no difference in CPU per touchpoint (docs/performance.md, "Journey
 * states copied field by field").
 */
export const ENCODE_QUIET_AFTER_MS = 2 * 3_600_000;

/**
 * The longest event-time window any outcome of a customer's journey waits on: a drop-off
 * (conversion window), a lapse, churn rescoring of a silent customer, an attribution lookback.
 * The customer idle time must be longer, so nothing the journey would still emit is evicted (the
 * stages' due index is checked too, see StagesPartition.idleCustomers).
 */
export function longestJourneyWindowMs(stages: StagesCoreConfig, attribution: AttributionOptions | null): number {
  return Math.max(stages.conversionWindowMs, stages.lapse.afterMs, stages.churn.rescoreForMs, stages.churn.cartAbandonAfterMs, attribution?.lookbackMs ?? 0);
}

/** Refuses limits that would evict a customer before its journey's windows have passed (a clear error at start). */
export function checkEvictionLimits(limits: EvictionLimits, stages: StagesCoreConfig, attribution: AttributionOptions | null): EvictionLimits {
  const longest = longestJourneyWindowMs(stages, attribution);
  if (limits.customerIdleMs <= longest) {
    throw new Error(
      `SESSIONIZER_EVICT_IDLE_DAYS (${limits.customerIdleMs / DAY_MS} days) must be longer than the longest journey window (${longest / DAY_MS} days: conversion window, lapse, churn rescoring, attribution lookback)`,
    );
  }
  return limits;
}

export interface EvictionCounters {
  /** Customers evicted (`idle`: by the round; `returned`: by their own event after the idle time). */
  customersEvicted(how: 'idle' | 'returned', n: number): void;
  mergeLedgerEvicted(n: number): void;
}

/**
 * Eviction of idle state in the journey step, by event time only (the partition's watermark less
 * the grace period, the clock of drop-offs and lapses), never the wall clock, so a replay or an
 * import evicts as the live stream did.
 *
 * An evicted customer leaves every store of the partition (sessions, dedup ids, account, bound
 * flag, journey, purchase history, attribution touches): its keys become tombstones at the next
 * flush, so no restore brings it back. Nothing is kept: a later event of the customer starts from
 * scratch, as a new customer (a new journey from no stage, no purchase history). The rule is one
 * of the customer's own event times, so it does not depend on when a round ran: an event more than
 * `customerIdleMs` after the customer's last activity finds it evicted, whether a round came first
 * (`beforeTouchpoint`) or not (the round only frees the memory sooner).
 */
export class IdleEviction {
  private nextRoundAt = -Infinity;

  constructor(
    private readonly limits: EvictionLimits,
    private readonly stores: CustomerStores,
    private readonly counters: EvictionCounters,
  ) {}

  /**
   * Before a touchpoint at event time `at`: a customer whose last activity is `customerIdleMs` or
   * more before it is evicted first, so the touchpoint starts it from scratch. Time-driven output
   * its old journey still had due is dropped with it: possible only when the partition's watermark
   * trails this customer's own events by the idle time less the longest journey window (months).
   */
  beforeTouchpoint(customerId: string, at: number): void {
    const last = this.stores.stages.lastActivityAt(customerId);
    if (last === undefined || last === null || at - last < this.limits.customerIdleMs) return;
    removeCustomerState(customerId, this.stores);
    this.counters.customersEvicted('returned', 1);
  }

  /**
   * Part of a round at the partition's event time `eventTime` (at most `limit` keys visited per
   * store). A waiting merge survivor is skipped (its held records still need its state); its open
   * sessions have closed long before (a session closes gap + grace after its last event, and the
   * tick closes them before this runs).
   */
  pass(eventTime: number, limit: number): void {
    if (!Number.isFinite(eventTime)) return;
    const start = eventTime >= this.nextRoundAt;
    if (start) this.nextRoundAt = eventTime + EVICTION_ROUND_MS;
    const { stages, barrier, forwards } = this.stores;
    let evicted = 0;
    for (const customerId of stages.idleCustomers(eventTime - this.limits.customerIdleMs, limit, start, eventTime - ENCODE_QUIET_AFTER_MS)) {
      if (barrier.isWaiting(customerId)) continue;
      removeCustomerState(customerId, this.stores);
      evicted++;
    }
    if (evicted > 0) this.counters.customersEvicted('idle', evicted);
    const ledger = forwards.evictIdle(eventTime, this.limits.mergeLedgerIdleMs, limit, start) + barrier.evictIdle(eventTime, this.limits.mergeLedgerIdleMs, limit, start);
    if (ledger > 0) this.counters.mergeLedgerEvicted(ledger);
  }
}
