import { MapSweep } from '../../platform/collections/map-sweep.js';
import { PackedArena } from '../../platform/collections/packed-arena.js';
import { cyrb53 } from '../core/hash.js';
import { STAGES, type ChurnScore, type CustomerTouchpoint, type FunnelEvent, type Stage, type StageTransition } from '../../../schemas/journey.js';
import { churnDueAt, scoreChurn, type ChurnModel } from './churn/score.js';
import { DueIndex } from './due-index.js';
import { applyTouchpoint, journeyDueAt, tick as journeyTick } from './journey.js';
import { newJourneyState, type JourneyState } from './journey-state.js';
import { mergeJourneyStates } from './merge.js';
import { decodeJourneyState, encodeJourneyState, JOURNEY_HEADER_AT, JOURNEY_HEADER_BYTES, keyIdEnd, KEY_ID_STAND_IN, readJourneyHeader, withKeyId } from './state-codec.js';
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
  /** Of them, journeys kept encoded (restored, or cooled by the idle round, and not decoded since). */
  encoded: number;
  /** Bytes the encoded journeys take in the arena, and bytes of journeys freed since its last compaction. */
  encodedBytes: number;
  encodedWasteBytes: number;
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
 * A journey kept encoded: its changelog value (state-codec.ts format 3), packed in the partition's
 * arena (PackedArena), held as the entry's ref. Its header gives its stage, due time and last
 * activity without decoding it; its customer id is the key it is kept under, so it is left out
 * (`freeze` / `thaw`).
 */
type ColdJourney = number;

/** A fingerprint of the settings a journey's due time depends on (journeyDueAt, churnDueAt). */
function scheduleFingerprint(config: StagesCoreConfig): number {
  const { lapse, churn } = config;
  return cyrb53(JSON.stringify([lapse.afterMs, lapse.from, lapse.to, churn.rescoreEveryMs, churn.rescoreForMs, churn.cartAbandonAfterMs])) >>> 0;
}

/**
 * The stages state of one input partition: journeys keyed by customerId, a due index for the
 * time-driven work, and the set of customers changed since the changelog was last written.
 * Pure: the caller passes the clock and does all I/O.
 *
 * A journey is held decoded (hot) or encoded (cold, about a sixth of the memory). A restore keeps
 * every journey cold, scheduled from its value's header, so neither the restore nor the idle round
 * decodes it; the first access that needs the state (a touchpoint, a merge either way, a forget,
 * `get`) decodes it and keeps it hot. Due work decodes a cold journey for the tick and encodes the
 * result again (it is written to the changelog anyway when it changed). The idle round cools hot
 * journeys quiet for a while again (`idleCustomers`). Encoding is exact (decode(encode(s)) equals
 * s), so whether a journey was cold changes no output, and a cold journey's value is written back
 * as the same bytes.
 */
export class StagesPartition {
  private readonly states = new Map<string, JourneyState | ColdJourney>();
  /** The cold journeys' bytes; a journey decoded, replaced or removed frees its entry (hold, drop). */
  private readonly arena = new PackedArena();
  private readonly due = new DueIndex();
  private readonly dirty = new Set<string>();
  private readonly idleSweep = new MapSweep(this.states);
  private readonly schedule: number;
  private touchpoints = 0;
  private ticked = 0;

  constructor(private readonly options: StagesPartitionOptions) {
    this.schedule = scheduleFingerprint(options.config);
  }

  /**
   * Applies one touchpoint (in order per customer). `now` bounds its time: the moment the event was
   * received (from the input, so a replay decides the same).
   */
  process(ctp: CustomerTouchpoint, now: number): ProcessOutput {
    const { rules, config, churn } = this.options;
    const id = ctp.customerId;
    const before = this.hot(id) ?? newJourneyState(id, ctp.accountId);
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
      const held = this.states.get(id);
      if (held === undefined) continue;
      if (deferred(id)) {
        // Its deadline waits too: held touchpoints from before it must be applied first.
        this.due.schedule(id, typeof held === 'number' ? this.coldTime(held, JOURNEY_HEADER_AT.dueAt) : this.dueAt(held));
        continue;
      }
      // A cold journey is decoded for its due work only, and kept encoded after it.
      const cold = typeof held === 'number';
      const state = cold ? decodeJourneyState(this.thaw(id, held)) : held;
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
      if (next === state) {
        this.due.schedule(id, this.dueAt(state)); // nothing was due after all: kept as it was
        continue;
      }
      if (step.state !== state || emitted) this.dirty.add(id);
      // Else only the rescoring time moved: not worth a changelog record. After a restore the
      // customer is merely rescored once more, which emits nothing new.
      this.keep(id, next, cold);
    }
    return out;
  }

  /**
   * Customers whose last activity is at or before `before` (or who never had any) and who have no
   * time-driven work left (no drop-off, lapse or rescoring due: evicting one earlier would lose it),
   * from a round over every journey that visits at most `limit` of them per call; `start` begins a
   * round unless one is under way. The caller evicts them (exportCustomer writes the tombstone).
   * The same round encodes again the hot journeys whose last activity is at or before `coolBefore`
   * (or who never had any), so memory follows the recently active customers, not all ever decoded.
   */
  idleCustomers(before: number, limit: number, start: boolean, coolBefore = -Infinity): string[] {
    if (start) this.idleSweep.start();
    return this.idleSweep.visit(limit, (id, state) => {
      const last = typeof state === 'number' ? this.coldTime(state, JOURNEY_HEADER_AT.lastActivityAt) : state.lastActivityAt;
      if (typeof state !== 'number' && (last === null || last <= coolBefore)) this.keep(id, state, true);
      return (last === null || last <= before) && !this.due.has(id);
    });
  }


  /** Removes a customer that identity stitching merged into another id; send the result to the survivor's partition. */
  exportCustomer(customerId: string): JourneyState | null {
    const state = this.hot(customerId);
    if (state === undefined) return null;
    this.remove(customerId);
    return state;
  }

  /** Removes a customer without decoding it (idle eviction, a deletion); the next flush writes its tombstone. */
  remove(customerId: string): void {
    if (!this.drop(customerId)) return;
    this.due.unschedule(customerId);
    this.dirty.add(customerId);
  }

  /** Merges an exported journey into `survivorId` (see merge.ts for the rules). */
  importCustomer(survivorId: string, exported: JourneyState): ProcessOutput {
    const { state, transitions, funnel } = mergeJourneyStates(this.hot(survivorId) ?? null, exported, survivorId, this.options.config);
    this.store(survivorId, state);
    return { transitions, funnel, churn: null };
  }

  /** The customer's journey (decoded, if it was kept encoded: an access). */
  get(customerId: string): JourneyState | undefined {
    return this.hot(customerId);
  }

  /** When the customer was last active (null: never; undefined: unknown here), without decoding it. */
  lastActivityAt(customerId: string): number | null | undefined {
    const held = this.states.get(customerId);
    return typeof held === 'number' ? this.coldTime(held, JOURNEY_HEADER_AT.lastActivityAt) : held?.lastActivityAt;
  }

  /** The changelog value for a customer (format 3), or null when it has no state (a tombstone). */
  snapshot(customerId: string): Uint8Array | null {
    const held = this.states.get(customerId);
    if (held === undefined) return null;
    return typeof held === 'number' ? this.thaw(customerId, held) : this.encode(held);
  }

  /**
   * Rebuilds a customer from the changelog; null deletes it. Does not mark it dirty. The journey is
   * kept encoded: a value of format 3 written under the same schedule settings as is, scheduled
   * from its header; an older format, or one scheduled under other settings, is decoded once here
   * and kept in format 3.
   */
  restore(customerId: string, snapshot: Uint8Array | null): void {
    if (snapshot === null) {
      this.drop(customerId);
      this.due.unschedule(customerId);
      return;
    }
    const header = readJourneyHeader(snapshot);
    // A restore streams the changelog, so a customer may come again with a later due time: the
    // earlier one stays scheduled, a lower bound like any (the visit finds nothing due and reschedules).
    if (header !== null && header.schedule === this.schedule) {
      this.hold(customerId, this.freeze(customerId, snapshot));
      this.due.schedule(customerId, header.dueAt);
      return;
    }
    this.keep(customerId, decodeJourneyState(snapshot), true);
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
    let encoded = 0;
    for (const s of this.states.values()) {
      if (typeof s === 'number') encoded++;
      // 0xFF in a cold journey's header (no stage) is no index of STAGES.
      byStage[(typeof s === 'number' ? (STAGES[this.arena.byte(s, JOURNEY_HEADER_AT.stage)] ?? null) : s.stage) ?? 'none']++;
    }
    const { liveBytes, deadBytes } = this.arena.stats();
    return { customers: this.states.size, encoded, encodedBytes: liveBytes, encodedWasteBytes: deadBytes, byStage, scheduled: this.due.size, dirty: this.dirty.size, touchpoints: this.touchpoints, ticked: this.ticked };
  }

  /** The customer's journey decoded and kept so (it is in use), or undefined. */
  private hot(id: string): JourneyState | undefined {
    const held = this.states.get(id);
    if (typeof held !== 'number') return held;
    const state = decodeJourneyState(this.thaw(id, held));
    this.hold(id, state);
    return state;
  }

  private store(id: string, state: JourneyState): void {
    this.dirty.add(id);
    this.keep(id, state, false);
  }

  /** Holds the state (encoded when `cold`) and schedules its due work. */
  private keep(id: string, state: JourneyState, cold: boolean): void {
    const at = this.dueAt(state);
    this.hold(id, cold ? this.freeze(id, encodeJourneyState(state, { at, schedule: this.schedule })) : state);
    this.due.schedule(id, at);
  }

  private encode(state: JourneyState): Buffer {
    return encodeJourneyState(state, { at: this.dueAt(state), schedule: this.schedule });
  }

  private dueAt(state: JourneyState): number | null {
    const { config } = this.options;
    const a = journeyDueAt(state, config);
    const b = churnDueAt(state, config);
    return a === null ? b : b === null ? a : Math.min(a, b);
  }

  /** Holds a journey (or a cold journey's ref) for `id`, freeing the arena entry it replaces. */
  private hold(id: string, held: JourneyState | ColdJourney): void {
    const before = this.states.get(id);
    this.states.set(id, held);
    if (typeof before === 'number') this.freed(before);
  }

  /** Removes `id`'s journey, freeing its arena entry; whether it had one. */
  private drop(id: string): boolean {
    const before = this.states.get(id);
    if (before === undefined) return false;
    this.states.delete(id);
    if (typeof before === 'number') this.freed(before);
    return true;
  }

  /**
   * Once freed entries take half the live ones' room (PackedArena.wasteful), the arena is compacted
   * and every cold journey given its new ref: a pause of the partition, ~0.9 CPU-s for 750,000 cold
   * journeys (scratch timing at load 40), after at least half as many were decoded, replaced or
   * removed.
   */
  private freed(ref: ColdJourney): void {
    this.arena.free(ref);
    if (!this.arena.wasteful()) return;
    this.arena.compact((move) => {
      for (const [id, held] of this.states) if (typeof held === 'number') this.states.set(id, move(held));
    });
  }

  /** A format 3 value kept cold: packed, without its customer id when that is the key (state-codec.ts). */
  private freeze(id: string, bytes: Uint8Array): ColdJourney {
    const idEnd = keyIdEnd(bytes, id);
    return idEnd < 0 ? this.arena.add(bytes, JOURNEY_HEADER_BYTES) : this.arena.addSpliced(bytes, JOURNEY_HEADER_BYTES, JOURNEY_HEADER_BYTES, idEnd, KEY_ID_STAND_IN);
  }

  /** The value a cold journey was kept from, byte for byte. */
  private thaw(id: string, cold: ColdJourney): Uint8Array {
    return withKeyId(this.arena.unpack(cold, JOURNEY_HEADER_BYTES), id);
  }

  /** A time of a cold journey's header (NaN there: none). */
  private coldTime(cold: ColdJourney, at: number): number | null {
    const t = this.arena.float64LE(cold, at);
    return Number.isNaN(t) ? null : t;
  }
}
