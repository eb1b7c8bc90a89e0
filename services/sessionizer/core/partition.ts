import type { Touchpoint } from '../../../schemas/touchpoint.js';
import type { SessionRecord } from '../../../schemas/journey.js';
import { CustomerCodec, type CustomerImage } from './customer-codec.js';
import { TimeHeap } from '../../platform/collections/time-heap.js';
import { DEFAULT_CUSTOMER_BOUNDS, type BoundKind, type CustomerBounds, type OnBound } from './customer-bounds.js';
import { cyrb53 } from './hash.js';
import { capIds, forgetBefore, fromPairs, isDuplicate, oldestTime, pairsOf, remember, type RecentIds } from './recent-ids.js';
import { sessionIdOf, summarize, toSessionRecord } from './session-summary.js';
import { StringPool } from './string-pool.js';
import {
  closesAt,
  diff,
  foldBefore,
  foldOldest,
  followsFolded,
  mergeSessions,
  placeByUnion,
  placeInOrder,
  strictlyInside,
  summariesById,
  takeClosable,
  type OpenSession,
  type SessionChange,
  type SessionizerConfig,
} from './sessions.js';

/** Events kept one by one in these sessions (not folded into their summaries yet). */
function keptIn(sessions: readonly OpenSession[]): number {
  let n = 0;
  for (let i = 0; i < sessions.length; i++) n += sessions[i]!.recent.length;
  return n;
}

/** A customer with open sessions, or touched since the last expire. */
class ActiveCustomer {
  constructor(
    /** Last version handed out; versions of this customer's session records only grow. */
    public clock: number,
    /** Deadline of this customer's live schedule entry (Infinity: none). */
    public due: number,
    public recentIds: RecentIds,
    public sessions: OpenSession[],
    /** Cache of the accounts map entry: saves a Map lookup per event. */
    public accountId: string | null,
  ) {}
}

/**
 * A customer with no open session, packed into one array of unboxed doubles:
 * [clock, due, hash, time, hash, time, …]. Far leaner than an object graph: this is the state of most
 * customers most of the time. It lives until its last messageId leaves the dedup window.
 */
type IdleCustomer = number[];
const CLOCK = 0;
const DUE = 1;
const PAIRS = 2;

export interface ProcessResult {
  /** Seen before within the dedup window: the caller drops it (no state changed). */
  duplicate: boolean;
  /** Behind watermark - grace and outside every open session: kept, but in a singleton session id of its own. */
  late: boolean;
  /** The session the event is in now ('' for a duplicate). */
  sessionId: string;
  accountId: string | null;
  /** Session records to emit now: opened / updated / merged. */
  sessions: SessionRecord[];
}

export interface PartitionStats {
  customers: number;
  openSessions: number;
  idleCustomers: number;
  duplicates: number;
  lateEvents: number;
  /** Events of open sessions kept one by one, over all customers (keptEvents()). */
  keptEvents: number;
  watermark: number;
}

/**
 * The sessionizer state of one input partition: customers' open sessions and recent messageIds, the
 * partition's event-time watermark (max event time seen), and a deadline heap so that `expire` only
 * visits customers that have something to close or prune. Pure and single-threaded.
 */
export class SessionizerPartition {
  private readonly customers = new Map<string, ActiveCustomer | IdleCustomer>();
  /** Customer → account (latest group call wins). Kept apart so that dropping idle state keeps it. */
  private readonly accounts = new Map<string, string>();
  /** Customers that reached a bound (customer-bounds.ts): the flag is persisted and moves with a merge. */
  private readonly bounded = new Set<string>();
  private readonly schedule = new TimeHeap<string>();
  private readonly dirty = new Set<string>();
  /** The sites, event names and URLs the sessions hold, one copy each (also those restored). */
  private readonly strings = new StringPool();
  private readonly codec = new CustomerCodec(this.strings);
  private wm = -Infinity;
  private activeCount = 0;
  private openSessionCount = 0;
  /**
   * Events of all open sessions kept one by one (OpenSession.recent), kept up to date by every
   * method that changes a customer's sessions (each counts that customer's before and after): the
   * measure of what a clock held back costs (docs/history-lane.md, the cap on an open import).
   */
  private keptCount = 0;
  private duplicateCount = 0;
  private lateCount = 0;

  constructor(
    private readonly config: SessionizerConfig,
    private readonly bounds: CustomerBounds = DEFAULT_CUSTOMER_BOUNDS,
    private readonly onBound: OnBound = () => {},
  ) {}

  get watermark(): number {
    return this.wm;
  }

  /** Events of open sessions kept one by one in this partition (about 330 B each: docs/performance.md). */
  keptEvents(): number {
    return this.keptCount;
  }

  /**
   * Attributes one touchpoint of `customerId` to a session. `accountId`, when given, sets the
   * customer's account; a group call sets it from its groupId.
   *
   * `sourceWatermark`: the event-time watermark of the input partition the touchpoint came from,
   * just before it. Given, it alone decides whether the event is behind (so lateness depends on
   * the input order, not on how several upstream partitions happened to interleave here), and the
   * partition watermark is left to `advanceWatermark` (the minimum over the sources). Omitted, the
   * partition watermark is the max event time seen and decides.
   */
  process(tp: Touchpoint, customerId: string, accountId?: string | null, sourceWatermark?: number): ProcessResult {
    const cfg = this.config;
    const hash = cyrb53(tp.messageId);
    const t = tp.timestamp;
    const known = this.customers.get(customerId);
    if (known !== undefined && this.seen(known, hash, t)) {
      this.duplicateCount++;
      const account = Array.isArray(known) ? (this.accounts.get(customerId) ?? null) : known.accountId;
      return { duplicate: true, late: false, sessionId: '', accountId: account, sessions: [] };
    }
    const reference = sourceWatermark ?? this.wm;
    const behind = t < reference - cfg.graceMs;
    if (sourceWatermark === undefined && t > this.wm) this.wm = t;
    const state = this.activate(customerId, known);
    const keptBefore = keptIn(state.sessions);
    const account = this.noteAccount(customerId, state, tp, accountId);
    state.recentIds = remember(state.recentIds, hash, t);
    this.capIds(customerId, state);
    this.dirty.add(customerId);
    const sessions = state.sessions;
    foldBefore(sessions, this.wm - cfg.graceMs);
    // A behind event may still join a session open at `reference` (whether a session this old is
    // still open here depends on the other sources' progress, so sessions due to close by
    // `reference` do not count).
    if (behind && !strictlyInside(sessions, t, sourceWatermark === undefined ? undefined : (s: OpenSession) => closesAt(s, cfg) >= reference)) {
      this.lateCount++;
      this.keptCount += keptIn(sessions) - keptBefore;
      this.reschedule(customerId, state);
      return { duplicate: false, late: true, sessionId: sessionIdOf(hash), accountId: account, sessions: [] };
    }
    const event = summarize(tp, hash, cfg.stageOf(tp), this.strings);
    const before = sessions.length;
    const placed =
      !behind && followsFolded(sessions, event) ? placeInOrder(sessions, event, cfg) : placeByUnion(sessions, event, cfg);
    this.openSessionCount += sessions.length - before;
    this.capOpenEvents(customerId, state);
    this.keptCount += keptIn(sessions) - keptBefore;
    this.reschedule(customerId, state);
    const records = this.records(customerId, state, placed.changes);
    return { duplicate: false, late: false, sessionId: placed.sessionId, accountId: account, sessions: records };
  }

  /** Moves event time forward without an event (e.g. an idle partition's punctuation). */
  advanceWatermark(t: number): void {
    if (t > this.wm) this.wm = t;
  }

  /**
   * Moves event time back to `t` (an import starting behind the clock: docs/history-lane.md).
   * What closed stays closed; what is open stays open longer, and the next closings wait for the
   * clock to pass them again. Nothing here needs the watermark to grow: versions grow per customer
   * on their own, and folding and pruning only keep more for a while.
   */
  rewindWatermark(t: number): void {
    if (t < this.wm) this.wm = t;
  }

  /**
   * Closes sessions whose end + gap + grace < watermark, packs customers left without an open
   * session, prunes messageIds past the dedup window and drops customers with none left.
   * Cost is proportional to the customers due, not to all customers.
   *
   * `deferred` customers keep their open sessions for now (they stay due): a survivor waiting for
   * an absorbed customer's sessions must not close a session the absorbed one would have extended,
   * or whether it closed first would depend on how long the transfer took.
   */
  expire(deferred: (customerId: string) => boolean = () => false): SessionRecord[] {
    const closed: SessionRecord[] = [];
    const postponed: Array<[number, string]> = [];
    while (this.schedule.peekTime() < this.wm) {
      const due = this.schedule.peekTime();
      const id = this.schedule.pop()!;
      const state = this.customers.get(id);
      if (state === undefined) continue;
      if (Array.isArray(state)) {
        if (state[DUE] === due) this.pruneIdle(id, state);
      } else if (state.due === due) {
        if (deferred(id)) {
          postponed.push([due, id]);
          continue;
        }
        state.due = Infinity;
        this.expireActive(id, state, closed);
      }
    }
    for (const [due, id] of postponed) this.schedule.push(id, due);
    return closed;
  }

  /** Removes a customer absorbed by an identity merge; the bytes go to the survivor's owner. Null if unknown. */
  exportCustomer(customerId: string): Uint8Array | null {
    const bytes = this.snapshot(customerId);
    if (bytes !== null) {
      this.forget(customerId);
      this.dirty.add(customerId);
    }
    return bytes;
  }

  /**
   * Merges an absorbed customer's exported state into `survivorId`. Returns the records that
   * re-attribute its open sessions to the survivor (higher versions), including sessions that
   * coalesced with the survivor's ('merged'). Its closed sessions are not re-emitted.
   */
  importCustomer(survivorId: string, exported: Uint8Array): SessionRecord[] {
    const image = this.codec.decode(exported);
    const state = this.activate(survivorId, this.customers.get(survivorId));
    const keptBefore = keptIn(state.sessions);
    state.clock = Math.max(state.clock, image.clock);
    for (let i = 0; i < image.recentIds.length; i += 2) {
      state.recentIds = remember(state.recentIds, image.recentIds[i]!, image.recentIds[i + 1]!);
    }
    this.capIds(survivorId, state);
    if (image.bounded) this.bounded.add(survivorId);
    if (image.accountId !== null && state.accountId === null) {
      state.accountId = image.accountId;
      this.accounts.set(survivorId, image.accountId);
    }
    const before = state.sessions.length;
    const summaries = summariesById([...state.sessions, ...image.sessions]);
    const imported = new Set(image.sessions.map((s) => s.id));
    mergeSessions(state.sessions, image.sessions, this.config);
    const changes = diff(summaries, state.sessions);
    const reported = new Set(changes.map((c) => c.id));
    for (const s of state.sessions) {
      if (imported.has(s.id) && !reported.has(s.id)) changes.push({ status: 'updated', id: s.id, summary: s.all });
    }
    this.openSessionCount += state.sessions.length - before;
    this.capOpenEvents(survivorId, state);
    this.keptCount += keptIn(state.sessions) - keptBefore;
    this.dirty.add(survivorId);
    this.reschedule(survivorId, state);
    return this.records(survivorId, state, changes);
  }

  /** How many customers changed since `dirtyKeys` was last called. */
  dirtyCount(): number {
    return this.dirty.size;
  }

  /** Customers changed since the last call (the call clears the set): snapshot each to the changelog. */
  dirtyKeys(): string[] {
    const keys = [...this.dirty];
    this.dirty.clear();
    return keys;
  }

  /** The changelog value for a customer; null = tombstone (nothing kept). */
  snapshot(customerId: string): Uint8Array | null {
    return this.snapshotInPlace(customerId)?.slice() ?? null;
  }

  /**
   * `snapshot` without the copy: the bytes stay in the codec's buffer and are valid only until the
   * next snapshot of this partition (the state flush copies them into the customer's value at once).
   */
  snapshotInPlace(customerId: string): Uint8Array | null {
    const state = this.customers.get(customerId);
    const accountId = this.accounts.get(customerId) ?? null;
    const bounded = this.bounded.has(customerId);
    if (state === undefined && accountId === null && !bounded) return null;
    return this.codec.encodeInPlace(this.imageOf(state, accountId, bounded));
  }

  /** Whether this customer ever reached a bound (customer-bounds.ts). */
  isBounded(customerId: string): boolean {
    return this.bounded.has(customerId);
  }

  /**
   * Makes the customer's snapshot at most `maxBytes` (the last line of the byte bound: the counts
   * already bound ids and open events, but an event summary carries URLs of any length). Halves the
   * events kept one by one, then the remembered ids (earliest first), and as a last resort drops
   * the customer's open sessions (its next event opens a new one). Returns the snapshot; call it
   * where the snapshot is written (the customer is not marked changed again).
   */
  trimToFit(customerId: string, maxBytes: number): Uint8Array | null {
    let bytes = this.snapshot(customerId);
    const before = bytes?.length ?? 0;
    const active = this.customers.get(customerId);
    const keptBefore = active === undefined || Array.isArray(active) ? 0 : keptIn(active.sessions);
    while (bytes !== null && bytes.length > maxBytes) {
      const state = this.customers.get(customerId);
      if (state === undefined) break; // only the account and flag are left: a few bytes
      if (Array.isArray(state)) {
        const pairs = (state.length - PAIRS) / 2;
        if (pairs === 0) break;
        state.splice(PAIRS, 2 * Math.ceil(pairs / 2));
      } else {
        const open = state.sessions.reduce((n, s) => n + s.recent.length, 0);
        const ids = Array.isArray(state.recentIds) ? state.recentIds.length / 2 : state.recentIds.size;
        if (open > 0) foldOldest(state.sessions, Math.floor(open / 2));
        else if (ids > 0) capIds(state.recentIds, Math.floor(ids / 2));
        else if (state.sessions.length > 0) {
          this.openSessionCount -= state.sessions.length;
          state.sessions = [];
          this.reschedule(customerId, state);
        } else break;
      }
      bytes = this.snapshot(customerId);
    }
    const after = this.customers.get(customerId);
    if (keptBefore > 0 && after !== undefined && !Array.isArray(after)) this.keptCount += keptIn(after.sessions) - keptBefore;
    const trimmed = before - (bytes?.length ?? 0);
    if (trimmed <= 0) return bytes;
    this.note('state_bytes', customerId, trimmed);
    return this.snapshot(customerId); // with the flag (same size: the flags byte is always there)
  }

  /** Replaces a customer's state from its changelog value (null = tombstone). */
  restore(customerId: string, bytes: Uint8Array | null): void {
    this.forget(customerId);
    if (bytes === null) return;
    const image = this.codec.decode(bytes);
    if (image.watermark > this.wm) this.wm = image.watermark;
    if (image.accountId !== null) this.accounts.set(customerId, image.accountId);
    if (image.bounded) this.bounded.add(customerId);
    if (image.sessions.length > 0) {
      const state = new ActiveCustomer(image.clock, Infinity, fromPairs(image.recentIds), image.sessions, image.accountId);
      this.customers.set(customerId, state);
      this.activeCount++;
      this.openSessionCount += state.sessions.length;
      this.keptCount += keptIn(state.sessions);
      this.reschedule(customerId, state);
    } else if (image.recentIds.length > 0) {
      this.park(customerId, image.clock, image.recentIds);
    }
  }

  stats(): PartitionStats {
    return {
      customers: this.customers.size,
      openSessions: this.openSessionCount,
      idleCustomers: this.customers.size - this.activeCount,
      duplicates: this.duplicateCount,
      lateEvents: this.lateCount,
      keptEvents: this.keptCount,
      watermark: this.wm,
    };
  }

  private seen(state: ActiveCustomer | IdleCustomer, hash: number, t: number): boolean {
    const window = this.config.dedupWindowMs;
    return Array.isArray(state) ? isDuplicate(state, hash, t, window, PAIRS) : isDuplicate(state.recentIds, hash, t, window);
  }

  /** Counts a bound reached; the customer is flagged the first time. */
  private note(kind: BoundKind, customerId: string, n: number): void {
    const first = !this.bounded.has(customerId);
    if (first) this.bounded.add(customerId);
    this.onBound(kind, customerId, n, first);
  }

  private capIds(customerId: string, state: ActiveCustomer): void {
    const evicted = capIds(state.recentIds, this.bounds.maxRecentIds);
    if (evicted > 0) this.note('dedup_ids', customerId, evicted);
  }

  private capOpenEvents(customerId: string, state: ActiveCustomer): void {
    const max = this.bounds.maxOpenEvents;
    const folded = foldOldest(state.sessions, max, Math.ceil(max / 2));
    if (folded > 0) this.note('open_events', customerId, folded);
  }

  private noteAccount(customerId: string, state: ActiveCustomer, tp: Touchpoint, accountId: string | null | undefined): string | null {
    const next = accountId ?? (tp.type === 'group' ? tp.groupId : null);
    if (next && next !== state.accountId) {
      state.accountId = next;
      this.accounts.set(customerId, next);
    }
    return state.accountId;
  }

  private activate(customerId: string, known: ActiveCustomer | IdleCustomer | undefined): ActiveCustomer {
    if (known !== undefined && !Array.isArray(known)) return known;
    // An idle customer's schedule entry goes stale: `due` starts at Infinity and never matches it.
    const accountId = this.accounts.size === 0 ? null : (this.accounts.get(customerId) ?? null);
    const state =
      known === undefined
        ? new ActiveCustomer(0, Infinity, [], [], accountId)
        : new ActiveCustomer(known[CLOCK]!, Infinity, fromPairs(known, PAIRS), [], accountId);
    this.customers.set(customerId, state);
    this.activeCount++;
    return state;
  }

  /** Versions grow per customer and never fall below the watermark, so they stay monotonic even
   * for a session id seen again after its customer's state was dropped. */
  private nextVersion(state: ActiveCustomer): number {
    state.clock = Math.max(state.clock + 1, Math.floor(this.wm));
    return state.clock;
  }

  private records(customerId: string, state: ActiveCustomer, changes: SessionChange[]): SessionRecord[] {
    return changes.map((c) => toSessionRecord(c.id, customerId, c.status, this.nextVersion(state), c.summary));
  }

  /** Schedules a visit at the first session's close time, or at once when no session is open. */
  private reschedule(customerId: string, state: ActiveCustomer): void {
    const first = state.sessions[0];
    const deadline = first === undefined ? -Infinity : closesAt(first, this.config);
    if (deadline < state.due) {
      state.due = deadline;
      this.schedule.push(customerId, deadline);
    }
  }

  private expireActive(customerId: string, state: ActiveCustomer, out: SessionRecord[]): void {
    const cfg = this.config;
    this.keptCount -= keptIn(state.sessions);
    foldBefore(state.sessions, this.wm - cfg.graceMs);
    for (const s of takeClosable(state.sessions, this.wm, cfg)) {
      out.push(toSessionRecord(s.id, customerId, 'closed', this.nextVersion(state), s.all));
      this.openSessionCount--;
    }
    state.recentIds = forgetBefore(state.recentIds, this.wm - cfg.dedupWindowMs);
    this.dirty.add(customerId);
    this.keptCount += keptIn(state.sessions);
    if (state.sessions.length > 0) {
      this.reschedule(customerId, state);
      return;
    }
    this.customers.delete(customerId);
    this.activeCount--;
    const pairs = pairsOf(state.recentIds);
    if (pairs.length > 0) this.park(customerId, state.clock, pairs);
  }

  /** Stores a customer without open sessions as a packed idle array, due when its oldest id expires. */
  private park(customerId: string, clock: number, pairs: readonly number[]): void {
    const idle: IdleCustomer = new Array<number>(PAIRS + pairs.length);
    idle[CLOCK] = clock;
    idle[DUE] = oldestTime(pairs as number[]) + this.config.dedupWindowMs;
    for (let i = 0; i < pairs.length; i++) idle[PAIRS + i] = pairs[i]!;
    this.customers.set(customerId, idle);
    this.schedule.push(customerId, idle[DUE]);
  }

  private pruneIdle(customerId: string, idle: IdleCustomer): void {
    const minTime = this.wm - this.config.dedupWindowMs;
    let w = PAIRS;
    for (let i = PAIRS; i < idle.length; i += 2) {
      if (idle[i + 1]! >= minTime) {
        idle[w++] = idle[i]!;
        idle[w++] = idle[i + 1]!;
      }
    }
    idle.length = w;
    this.dirty.add(customerId);
    if (w === PAIRS) {
      // Nothing left to dedupe against and no open session: the customer costs nothing until it returns.
      // Late detection needs only the watermark and open sessions, so it stays exact.
      this.customers.delete(customerId);
      return;
    }
    idle[DUE] = oldestTime(idle, PAIRS) + this.config.dedupWindowMs;
    this.schedule.push(customerId, idle[DUE]);
  }

  private imageOf(state: ActiveCustomer | IdleCustomer | undefined, accountId: string | null, bounded: boolean): CustomerImage {
    if (state === undefined) return { watermark: this.wm, clock: 0, accountId, recentIds: [], sessions: [], bounded };
    if (Array.isArray(state)) {
      return { watermark: this.wm, clock: state[CLOCK]!, accountId, recentIds: state.slice(PAIRS), sessions: [], bounded };
    }
    return { watermark: this.wm, clock: state.clock, accountId, recentIds: pairsOf(state.recentIds), sessions: state.sessions, bounded };
  }

  /** Removes every trace of a customer (schedule entries go stale). */
  private forget(customerId: string): void {
    const state = this.customers.get(customerId);
    if (state !== undefined && !Array.isArray(state)) {
      this.activeCount--;
      this.openSessionCount -= state.sessions.length;
      this.keptCount -= keptIn(state.sessions);
    }
    this.customers.delete(customerId);
    this.accounts.delete(customerId);
    this.bounded.delete(customerId);
  }
}
