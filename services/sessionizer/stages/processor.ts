import { MapSweep } from '../../platform/collections/map-sweep.js';
import { STAGES, type ChurnScore, type CustomerTouchpoint, type FunnelEvent, type Stage, type StageTransition } from '../../../schemas/journey.js';
import { churnDueAt, scoreChurn, type ChurnModel } from './churn/score.js';
import { DueIndex } from './due-index.js';
import { applyTouchpoint, journeyDueAt, tick as journeyTick } from './journey.js';
import { newJourneyState, type JourneyState } from './journey-state.js';
import { mergeJourneyStates } from './merge.js';
import { decodeJourneyState, encodeJourneyState } from './state-codec.js';
import type { StagesCoreConfig } from './stages-config.js';
import type { StageRules } from './stage-rules.js';

export interface StagesPartitionOptions {
  rules: StageRules;
  config: StagesCoreConfig;
  churn: ChurnModel;
}

export interface ProcessOutput {
  transitions: StageTransition[];
  funnel: FunnelEvent[];
  /** A churn score worth emitting, or null (see `scoreChurn` for when). */
  churn: ChurnScore | null;
}

export interface TickOutput {
  transitions: StageTransition[];
  funnel: FunnelEvent[];
  churn: ChurnScore[];
}

export interface PartitionStats {
  customers: number;
  byStage: Record<Stage | 'none', number>;
  /** Customers with a pending deadline or rescore. */
  scheduled: number;
  dirty: number;
  touchpoints: number;
  ticked: number;
}

/** A customer's changelog record; a null snapshot is a tombstone (the customer was merged away). */
export interface ChangelogRecord {
  customerId: string;
  snapshot: Uint8Array | null;
}

/**
 * The stages state of one input partition: journeys keyed by customerId, a due index for the
 * time-driven work, and the set of customers changed since the changelog was last written.
 * Pure: the caller passes the clock and does all I/O.
 */
export class StagesPartition {
  private readonly states = new Map<string, JourneyState>();
  private readonly due = new DueIndex();
  private readonly dirty = new Set<string>();
  private readonly idleSweep = new MapSweep(this.states);
  private touchpoints = 0;
  private ticked = 0;

  constructor(private readonly options: StagesPartitionOptions) {}

  /**
   * Applies one touchpoint (in order per customer). `now` bounds its time: the moment the event was
   * received (from the input, so a replay decides the same).
   */
  process(ctp: CustomerTouchpoint, now: number): ProcessOutput {
    const { rules, config, churn } = this.options;
    const id = ctp.customerId;
    const before = this.states.get(id) ?? newJourneyState(id, ctp.accountId);
    // A touchpoint stamped in the future (a skewed client clock) is taken as happening now, so it
    // cannot push the journey clock past the moment it was received.
    const input = ctp.touchpoint.timestamp > now ? { ...ctp, touchpoint: { ...ctp.touchpoint, timestamp: now } } : ctp;
    const step = applyTouchpoint(before, input, rules, config);
    const scoring = scoreChurn(step.state, step.state.lastActivityAt ?? now, churn, config);
    this.store(id, scoring.state);
    this.touchpoints++;
    return { transitions: step.transitions, funnel: step.funnel, churn: scoring.churn };
  }

  /**
   * Settles every customer due by `now` (dropoffs, lapses, churn rescoring of silent customers).
   * Visits only due customers; `limit` bounds the work of one call (the rest stays due). A
   * `deferred` customer (a survivor waiting for an absorbed journey) stays due for a later call.
   */
  tick(now: number, limit = Infinity, deferred: (customerId: string) => boolean = () => false): TickOutput {
    const { config, churn } = this.options;
    const out: TickOutput = { transitions: [], funnel: [], churn: [] };
    for (const id of this.due.popDue(now, limit)) {
      const state = this.states.get(id);
      if (state === undefined) continue;
      if (deferred(id)) {
        // Its deadline waits too: held touchpoints from before it must be applied first.
        this.schedule(id, state);
        continue;
      }
      this.ticked++;
      const at = Math.max(now, state.lastActivityAt ?? now);
      const step = journeyTick(state, at, config);
      let next = step.state;
      let emitted = false;
      const churnDue = churnDueAt(next, config);
      if (step.transitions.length > 0 || (churnDue !== null && churnDue <= at)) {
        const scoring = scoreChurn(next, at, churn, config);
        next = scoring.state;
        if (scoring.churn) out.churn.push(scoring.churn);
        emitted = scoring.churn !== null;
      }
      out.transitions.push(...step.transitions);
      out.funnel.push(...step.funnel);
      if (step.state !== state || emitted) this.store(id, next);
      else {
        // Only the rescoring time moved: not worth a changelog record. After a restore the
        // customer is merely rescored once more, which emits nothing new.
        this.states.set(id, next);
        this.schedule(id, next);
      }
    }
    return out;
  }

  /**
   * Customers whose last activity is at or before `before` (or who never had any) and who have no
   * time-driven work left (no drop-off, lapse or rescoring due: evicting one earlier would lose it),
   * from a round over every journey that visits at most `limit` of them per call; `start` begins a
   * round unless one is under way. The caller evicts them (exportCustomer writes the tombstone).
   */
  idleCustomers(before: number, limit: number, start: boolean): string[] {
    if (start) this.idleSweep.start();
    return this.idleSweep.visit(limit, (id, state) => this.isIdle(id, state, before));
  }


  /** Removes a customer that identity stitching merged into another id; send the result to the survivor's partition. */
  exportCustomer(customerId: string): JourneyState | null {
    const state = this.states.get(customerId);
    if (state === undefined) return null;
    this.states.delete(customerId);
    this.due.unschedule(customerId);
    this.dirty.add(customerId);
    return state;
  }

  /** Merges an exported journey into `survivorId` (see merge.ts for the rules). */
  importCustomer(survivorId: string, exported: JourneyState): ProcessOutput {
    const { state, transitions, funnel } = mergeJourneyStates(this.states.get(survivorId) ?? null, exported, survivorId, this.options.config);
    this.store(survivorId, state);
    return { transitions, funnel, churn: null };
  }

  get(customerId: string): JourneyState | undefined {
    return this.states.get(customerId);
  }

  /** The changelog value for a customer, or null when it has no state (a tombstone). */
  snapshot(customerId: string): Uint8Array | null {
    const state = this.states.get(customerId);
    return state === undefined ? null : encodeJourneyState(state);
  }

  /** Rebuilds a customer from the changelog; null deletes it. Does not mark it dirty. */
  restore(customerId: string, snapshot: Uint8Array | null): void {
    if (snapshot === null) {
      this.states.delete(customerId);
      this.due.unschedule(customerId);
      return;
    }
    const state = decodeJourneyState(snapshot);
    this.states.set(customerId, state);
    this.schedule(customerId, state);
  }

  /** How many customers changed since their changelog record was last drained. */
  dirtyCount(): number {
    return this.dirty.size;
  }

  /** Customers changed since their changelog record was last drained. */
  dirtyKeys(): string[] {
    return [...this.dirty];
  }

  /** The changed customers, clearing the set: the caller snapshots each (`snapshot`). */
  takeDirtyKeys(): string[] {
    const keys = [...this.dirty];
    this.dirty.clear();
    return keys;
  }

  /** Snapshots of all dirty customers, clearing the dirty set in the same step (nothing changes in between). */
  drainDirty(): ChangelogRecord[] {
    const out = [...this.dirty].map((customerId) => ({ customerId, snapshot: this.snapshot(customerId) }));
    this.dirty.clear();
    return out;
  }

  /**
   * When `tick` may next have work, or null when no customer is scheduled: lets the caller sleep
   * until then. A lower bound: a customer whose deadline moved later is visited at the old time
   * and rescheduled.
   */
  nextDueAt(): number | null {
    return this.due.peek();
  }

  stats(): PartitionStats {
    const byStage = Object.fromEntries([...STAGES, 'none'].map((s) => [s, 0])) as Record<Stage | 'none', number>;
    for (const s of this.states.values()) byStage[s.stage ?? 'none']++;
    return { customers: this.states.size, byStage, scheduled: this.due.size, dirty: this.dirty.size, touchpoints: this.touchpoints, ticked: this.ticked };
  }

  private isIdle(id: string, state: JourneyState, before: number): boolean {
    return (state.lastActivityAt === null || state.lastActivityAt <= before) && !this.due.has(id);
  }

  private store(id: string, state: JourneyState): void {
    this.states.set(id, state);
    this.dirty.add(id);
    this.schedule(id, state);
  }

  private schedule(id: string, state: JourneyState): void {
    const { config } = this.options;
    const a = journeyDueAt(state, config);
    const b = churnDueAt(state, config);
    this.due.schedule(id, a === null ? b : b === null ? a : Math.min(a, b));
  }
}
