import type { KafkaMessage } from 'kafkajs';
import type { Codec } from '../../schemas/codec.js';
import type { AttributionCredit, ChurnScore, FunnelEvent, JourneyRecord, SessionRecord, StageTransition } from '../../schemas/journey.js';
import { topicCodecs, type Topics } from '../../schemas/topics.js';
import { MAX_RECORD_BYTES, recordBytes, type OutgoingRecord } from '../platform/kafka/producer.js';
import { membersOf } from '../platform/kafka/record-bundle.js';
import { deadLetterRecord, oversizedRecordDeadLetter } from '../platform/pipeline/dead-letter.js';
import { dlq, ok, type StepResult } from '../platform/pipeline/results.js';
import { MergeLedger } from '../platform/streams/merge-ledger.js';
import { MergeBarrier, type MergeWaitLimits } from '../platform/streams/merge-barrier.js';
import type { PartitionProcessor, StateUpdate } from '../platform/streams/stateful-handler.js';
import type { SessionizerConfig } from './core/sessions.js';
import { AttributionPartition, type AttributionCounters, type AttributionOptions } from './attribution/attribution-partition.js';
import { DEFAULT_CUSTOMER_BOUNDS, type BoundKind, type CustomerBounds } from './core/customer-bounds.js';
import { SessionizerPartition } from './core/partition.js';
import { CUSTOMER_STATE_HEADER_BYTES, decodeCustomerState, encodeCustomerState, type CustomerStateParts } from './customer-state.js';
import { StagesPartition, type StagesPartitionOptions } from './stages/processor.js';
import { forgetCustomer } from './forget/forget-customer.js';
import { touchpointIds } from '../platform/privacy/deletion-request.js';
import type { ForgottenIds } from '../platform/privacy/forgotten-ids.js';
import { DEFAULT_EVICTION_LIMITS, IdleEviction, type EvictionCounters, type EvictionLimits } from './idle-eviction.js';
import { decodeJourneyState, encodeJourneyState } from './stages/state-codec.js';

/**
 * Changelog keys: a customer id (sessions and journey in one value, customer-state.ts);
 * `fwd:<absorbed>` → survivor (forwards); `imp:` / `wait:` (merge barrier); `wm:<source>` → that
 * router input's event-time watermark as seen here, or for a live source `empty` (the router found
 * it empty and it has sent nothing here since), or for a history source `closed` (its import
 * ended), `pending` (another history source began an import; waited for until it says where it
 * stands), `demoted` (its import held more kept events than the cap: no longer waited for until its
 * end) or `demoted-pending` (demoted before its own begin came); `wm:base` → the events kept when
 * the open import began here (the cap counts what was kept since): docs/history-lane.md.
 */
const WATERMARK_PREFIX = 'wm:';
const CLOSED = 'closed';
const PENDING = 'pending';
const DEMOTED = 'demoted';
const DEMOTED_PENDING = 'demoted-pending';
const EMPTY = 'empty';
const HELD_BASE_KEY = 'wm:base';
const NO_PARTS: CustomerStateParts = { sessions: null, journey: null, attribution: null };
const NO_STAGES: readonly string[] = [];
/**
 * The stages the touchpoint `messageId` made its customer enter: its own transitions, not those
 * event time settled before it (a lapse back to consideration is no one's conversion).
 */
function stagesEnteredBy(transitions: readonly StageTransition[], messageId: string): readonly string[] {
  if (transitions.length === 0) return NO_STAGES; // most touchpoints: nothing allocated
  const out: string[] = [];
  for (const t of transitions) if (t.messageId === messageId) out.push(t.toStage);
  return out;
}

export interface JourneyCodecs {
  record: Codec<JourneyRecord>;
  session: Codec<SessionRecord>;
  transition: Codec<StageTransition>;
  funnel: Codec<FunnelEvent>;
  churn: Codec<ChurnScore>;
  /** Default: the attribution topic's codec. */
  attribution?: Codec<AttributionCredit>;
}

export interface JourneyCounters extends Partial<EvictionCounters> {
  duplicates(): void;
  late(): void;
  sessionsClosed(n: number): void;
  touchpoints(): void;
  transitions(n: number): void;
  churnAlerts(n: number): void;
  deadLetter(): void;
  mergeWaitsExpired(n: number): void;
  /** A merge survivor's wait ended early: it held as many records or bytes as it may. */
  mergeWaitsFull(): void;
  /** A customer reached a bound (`n`: ids evicted, events folded early, bytes trimmed); `first`: it was flagged now. */
  bounded(kind: BoundKind, n: number, first: boolean): void;
  /** An output over the record limit, sent to the dead-letter topic instead. */
  oversizedOutput(): void;
  /** A time-driven pass over a caught-up partition (the wall clock may move its live sources). */
  idleTick(): void;
  /** A touchpoint record of a forgotten id dropped (a re-read of identified-touchpoints). */
  forgottenDropped?(): void;
  /** An open import stopped holding this partition's clock: it held more kept events than the cap (once per import). */
  historyDemoted?(): void;
  /** A touchpoint of a demoted import, processed against the partition's clock (late unless inside an open session). */
  demotedTouchpoint?(late: boolean): void;
}

/** What the journey step tells when an import is demoted (for a warn log line). */
export interface HistoryDemotion {
  /** The history sources (P..2P-1) the import ran through here. */
  sources: number[];
  /** Events kept one by one in the partition when it happened and when the import began here, and the cap (on the difference). */
  keptEvents: number;
  keptAtBegin: number;
  cap: number;
  /** The import's event time here (its least open source's watermark) and the live sources' least. */
  importTime: number;
  liveTime: number;
}

export interface JourneyProcessorDeps {
  topics: Topics;
  codecs: JourneyCodecs;
  sessions: SessionizerConfig;
  stages: StagesPartitionOptions;
  /** Rule-based attribution per conversion (attribution/); null or absent: off. */
  attribution?: AttributionOptions | null;
  attributionCounters?: AttributionCounters;
  /** Bounds the time-driven stage work of one tick so a backlog of silent customers cannot stall input. */
  tickLimit: number;
  /**
   * Session versions are held and go out, the newest of each session, at the first tick this long
   * (processing time) after the last time, and always with `drain` before a state flush. Only when
   * rows appear, never what they say: a session's rows replace each other by version. Default 0:
   * every version goes out with the record that made it.
   */
  sessionOutputIntervalMs?: number;
  /**
   * A live source's event time trails the wall clock by at most this much: when it goes idle, its
   * watermark follows the clock at that distance, so its sessions still close (see advanceLiveSources).
   */
  maxEventLagMs: number;
  /**
   * Partitions of the touchpoints topic (P). The router's inputs are the sources: touchpoints
   * partitions 0..P-1 (live) and touchpoints-history partitions as P..2P-1 (history,
   * docs/history-lane.md). This partition's watermark is the least of the open sources', so an
   * on-time event from a source that lags the others still finds its sessions open and unfolded. A
   * live source not heard from yet holds it back; a history source counts only while an import
   * runs through it (from its begin notice to its end notice).
   */
  sourcePartitions: number;
  /**
   * At most this many more events kept one by one in the partition (SessionizerPartition.keptEvents)
   * than when the open import began, while it holds the clock behind the live sources'; one more
   * demotes the import: it
   * stops holding the clock, and the rest of it is processed against the live clock, as late events
   * are (docs/history-lane.md, "The cap"). Default Infinity: no cap.
   */
  historyMaxHeldEvents?: number;
  /** Told once per import and partition, when the import is demoted. */
  onHistoryDemoted?(demotion: HistoryDemotion): void;
  /** How long (processing time) and for how many records a merge survivor waits for the absorbed state. */
  mergeWait: MergeWaitLimits;
  /** What one customer may keep (README: Known limits); default DEFAULT_CUSTOMER_BOUNDS. */
  bounds?: CustomerBounds;
  /** How long idle customers and merge-ledger entries stay, in event time (idle-eviction.ts); default DEFAULT_EVICTION_LIMITS. */
  eviction?: EvictionLimits;
  counters: JourneyCounters;
  /**
   * Ids a deletion forgot (README: Privacy): their touchpoint records are dropped unprocessed. The
   * router drops them before they get here; this covers a journey group that re-reads
   * identified-touchpoints from before a deletion (new group, offsets reset).
   */
  forgotten?: ForgottenIds;
  /** Told once per customer, when it first reaches a bound (for a log line). */
  onFlagged?(customerId: string, kind: BoundKind): void;
  now: () => number;
}

/**
 * The journey step, per partition of `identified-touchpoints` (keyed by customer id): sessions and
 * de-duplication (SessionizerPartition), then stage, funnel and churn (StagesPartition) on the same
 * touchpoint in the same call, with one decode per record and one state value per customer. Its
 * outputs: customer-touchpoints (for ClickHouse), sessions, stage transitions, funnel events, churn
 * scores and alerts.
 *
 * Identity merges: a `merge` notice makes this owner export the absorbed customer (both parts) and
 * send it (`transfer`) to the survivor's key; the survivor's owner, told by `absorbing`, holds the
 * survivor's later records until it arrives (MergeBarrier). Later records still keyed by the
 * absorbed id (routed before every instance saw the link) are forwarded to the survivor.
 */
export function createJourneyProcessor(
  deps: JourneyProcessorDeps,
): PartitionProcessor & { sessions: SessionizerPartition; stages: StagesPartition; attribution: AttributionPartition | null } {
  const bounds = deps.bounds ?? DEFAULT_CUSTOMER_BOUNDS;
  const sessions = new SessionizerPartition(deps.sessions, bounds, (kind, customerId, n, first) => {
    deps.counters.bounded(kind, n, first);
    if (first) deps.onFlagged?.(customerId, kind);
  });
  const stages = new StagesPartition(deps.stages);
  const attribution = deps.attribution ? new AttributionPartition(deps.attribution, deps.attributionCounters) : null;
  const attributionCodec = attribution === null ? null : (deps.codecs.attribution ?? topicCodecs.attribution());
  /** Customers merged away here (their owner forwards what still comes for them to the survivor). */
  const forwards = new MergeLedger('fwd:');
  const barrier = new MergeBarrier(deps.mergeWait);
  const eviction = new IdleEviction(deps.eviction ?? DEFAULT_EVICTION_LIMITS, { sessions, stages, forwards, barrier, attribution }, {
    customersEvicted: (how, n) => deps.counters.customersEvicted?.(how, n),
    mergeLedgerEvicted: (n) => deps.counters.mergeLedgerEvicted?.(n),
  });
  /** The partition's event-time clock: its watermark less the grace period (a later event before it is late). */
  const eventTime = () => sessions.watermark - deps.sessions.graceMs;
  const sourceWatermarks = new Map<number, number>();
  /**
   * Sources the router found empty when it looked, with no touchpoint from them here since, and
   * history sources whose import ended (closed): neither is waited for.
   */
  const emptySources = new Set<number>();
  /**
   * History sources waited for without a watermark: an import began in another history source, and
   * their own begin notice is on the way (the router routes each partition on its own, so one
   * partition's import may reach here before another's begin). Only their watermark ends it: an
   * empty or closed notice may be one sent before their begin.
   */
  const pendingHistory = new Set<number>();
  /**
   * History sources whose import was demoted (it held more kept events than historyMaxHeldEvents):
   * never waited for, their watermarks ignored, until their end notice closes them; a demoted source
   * also in pendingHistory is still waiting for its own begin, which only ends that wait.
   */
  const demotedHistory = new Set<number>();
  const maxHeldEvents = deps.historyMaxHeldEvents ?? Infinity;
  /**
   * Events kept when the open import began here (a begin that pended the others): live traffic
   * alone keeps its sessions' events until they close (about its rate × gap + grace), so the cap
   * counts what was kept since, what the trailing clock added. Null: no import began here, or one
   * began before this was kept (settled at the next restore as the count then).
   */
  let heldBase: number | null = null;
  let heldBaseDirty = false;
  /** Per source, the furthest event time its records (touchpoints too) have shown here: a replay shows as trailing. */
  const sourceProgress = new Map<number, number>();
  const dirtySources = new Set<number>();
  const { topics, codecs, counters, now } = deps;
  const validSource = (source: number) => Number.isInteger(source) && source >= 0 && source < 2 * deps.sourcePartitions;
  const isHistory = (source: number) => source >= deps.sourcePartitions;
  /** A history source an import is running through: heard from, and not closed since. */
  const openHistory = (source: number) =>
    isHistory(source) && sourceWatermarks.has(source) && !emptySources.has(source) && !pendingHistory.has(source) && !demotedHistory.has(source);
  /** After a restore, the clock is settled once before the next record or tick (see settleRestoredClock). */
  let restoredClock = false;

  /**
   * The partition watermark follows the least source. Every live source must have a watermark,
   * except those the router found empty: an unheard source holds it back (its events may be on the
   * way). A history source counts only while open.
   */
  const followLeastSource = () => {
    let least = Infinity;
    for (let source = 0; source < 2 * deps.sourcePartitions; source++) {
      if (demotedHistory.has(source)) continue;
      if (pendingHistory.has(source)) return;
      if (emptySources.has(source)) continue;
      const watermark = sourceWatermarks.get(source);
      if (watermark === undefined) {
        if (isHistory(source)) continue;
        return;
      }
      if (watermark < least) least = watermark;
    }
    if (Number.isFinite(least)) sessions.advanceWatermark(least);
  };

  /**
   * A history source opens (an import's begin notice, or its first record if that comes first):
   * its watermark starts over at `watermark`, and the clock goes back to it when it is ahead, so
   * the import's sessions and windows close on the import's own time while the live sources' wait
   * (docs/history-lane.md: what it costs). A source that was not expected starts an import: every
   * other history source not open is then waited for until its own begin comes (the import writes
   * one to each). A pending source's begin is part of an import already under way: it pends no one,
   * or a source that began and ended meanwhile would wait for a begin that is not coming.
   */
  const openHistorySource = (source: number, watermark: number) => {
    const expected = pendingHistory.delete(source);
    emptySources.delete(source);
    sourceWatermarks.set(source, watermark);
    sourceProgress.set(source, watermark);
    dirtySources.add(source);
    if (!expected) {
      heldBase = sessions.keptEvents();
      heldBaseDirty = true;
      for (let other = deps.sourcePartitions; other < 2 * deps.sourcePartitions; other++) {
        // A demoted source is still in its own (earlier) import until its end comes.
        if (other === source || openHistory(other) || pendingHistory.has(other) || demotedHistory.has(other)) continue;
        pendingHistory.add(other);
        dirtySources.add(other);
      }
    }
    sessions.rewindWatermark(watermark);
    followLeastSource();
  };

  /**
   * A restore brings every customer's clock back (SessionizerPartition takes the newest), which is
   * the live clock for customers written before an import began: while a history source is open,
   * the clock goes back to the least open history source's watermark, as it was before the restart.
   */
  const settleRestoredClock = () => {
    restoredClock = false;
    let least = Infinity;
    for (let source = deps.sourcePartitions; source < 2 * deps.sourcePartitions; source++) if (openHistory(source)) least = Math.min(least, sourceWatermarks.get(source)!);
    if (Number.isFinite(least)) sessions.rewindWatermark(least);
    if (heldBase === null) heldBase = sessions.keptEvents(); // a changelog from before the base was kept
  };

  const setSourceWatermark = (source: number, watermark: number) => {
    if (watermark <= (sourceWatermarks.get(source) ?? -Infinity)) return;
    sourceWatermarks.set(source, watermark);
    dirtySources.add(source);
    followLeastSource();
  };

  /** What a record says of its source: it is not empty, and has come this far in event time. */
  const noteProgress = (source: number, watermark: number) => {
    if (emptySources.delete(source)) dirtySources.add(source);
    if (watermark > (sourceProgress.get(source) ?? -Infinity)) sourceProgress.set(source, watermark);
  };

  /** A source's event-time watermark, from the router (or restored). */
  const noteSource = (source: number, watermark: number) => {
    if (!validSource(source)) return;
    if (demotedHistory.has(source)) return noteDemotedBegun(source);
    if (isHistory(source) && !openHistory(source)) return openHistorySource(source, watermark);
    noteProgress(source, watermark);
    setSourceWatermark(source, watermark);
  };

  /** The router's notice that a source has nothing to wait for: empty when it looked, or (history) its import ended. */
  const noteEmpty = (source: number) => {
    if (isHistory(source)) {
      // Closed whatever came before (the router sends it after the import's last record), unless
      // pending: then it was sent before the source's begin notice. A demoted import's end closes it
      // as any other's: the next import starts fresh.
      if (pendingHistory.has(source)) return;
      if (demotedHistory.delete(source) || !emptySources.has(source)) dirtySources.add(source);
      emptySources.add(source);
    } else if (!sourceProgress.has(source) && !emptySources.has(source)) {
      // Kept: the router says it once (a never-written partition has no idle ticks of its own).
      emptySources.add(source);
      dirtySources.add(source);
    }
    followLeastSource();
  };

  /** A demoted source's watermark or touchpoint: its own begin has come, if it was still awaited. */
  const noteDemotedBegun = (source: number) => {
    emptySources.delete(source);
    if (pendingHistory.delete(source)) dirtySources.add(source);
  };

  /**
   * The least watermark of the live sources and of the open (or pending) import here; `importTime`
   * is -Infinity while a history source is pending (it holds the clock wherever it is).
   */
  const clockHolders = () => {
    let liveTime = Infinity;
    let importTime = Infinity;
    for (let source = 0; source < 2 * deps.sourcePartitions; source++) {
      if (demotedHistory.has(source)) continue;
      // A pending source may have been empty before: as in followLeastSource, pending comes first.
      if (pendingHistory.has(source)) importTime = -Infinity;
      else if (emptySources.has(source)) continue;
      else if (openHistory(source)) importTime = Math.min(importTime, sourceWatermarks.get(source)!);
      else if (!isHistory(source)) liveTime = Math.min(liveTime, sourceWatermarks.get(source) ?? Infinity);
    }
    return { liveTime, importTime };
  };

  /**
   * The cap on what an open import makes this partition hold (docs/history-lane.md, "The cap"): once
   * the events kept one by one pass historyMaxHeldEvents while the import's time is behind the live
   * sources', the import is demoted. Its sources leave the least at once, so the clock goes on with
   * the live sources' and the sessions it held close at the next tick; the rest of the import is
   * processed against that clock (placed in a session still open there, else late), and its
   * watermarks are ignored until its end notice. Checked after each touchpoint, the only record that
   * makes kept events (a merge's transfer only moves a customer's from another partition): where it
   * happens depends on the input order and on which sessions the ticks had closed by then (as a late
   * event's fate does), not on anything else.
   */
  const capHeldEvents = () => {
    if (sessions.keptEvents() - (heldBase ?? 0) <= maxHeldEvents) return;
    const { liveTime, importTime } = clockHolders();
    if (!(importTime < liveTime)) return; // no import open, or one that holds nothing back
    const demoted: number[] = [];
    for (let source = deps.sourcePartitions; source < 2 * deps.sourcePartitions; source++) {
      if (!openHistory(source) && !pendingHistory.has(source)) continue;
      demotedHistory.add(source);
      dirtySources.add(source);
      demoted.push(source);
    }
    counters.historyDemoted?.();
    deps.onHistoryDemoted?.({ sources: demoted, keptEvents: sessions.keptEvents(), keptAtBegin: heldBase ?? 0, cap: maxHeldEvents, importTime, liveTime });
    followLeastSource();
  };

  /**
   * Moves idle live sources to `t` (wall clock − the allowed event lag). A source is live when its
   * progress is within the allowed lag of `t`, i.e. its events keep up with the clock: any event
   * it sends later with a time before `t` trails the clock by more than the lag, which the live
   * contract calls late anyway. A source that trails the clock by more (a replay, an import, a
   * backlog after an outage) is moved only by its own events, so its sessions and conversion
   * windows come out as they did live. A source not heard from at all counts as live and idle,
   * unless a source that has been heard from trails: then a replay is under way and the unheard
   * source's part of it may still be coming (the router says when a source is simply empty).
   */
  const advanceLiveSources = (t: number) => {
    const live = t - deps.maxEventLagMs;
    let replaying = false;
    // Of the live lane only: an import in the history lane is not a replay of the live sources.
    for (const [source, progress] of sourceProgress) if (!isHistory(source) && !emptySources.has(source) && progress < live) replaying = true;
    for (let source = 0; source < deps.sourcePartitions; source++) {
      if (emptySources.has(source)) continue;
      // Heard from: by its watermark, else by its touchpoints' (its watermark record is on the way).
      const heard = sourceWatermarks.get(source) ?? sourceProgress.get(source);
      if (heard === undefined ? !replaying : heard >= live) setSourceWatermark(source, t);
    }
  };

  /**
   * A source's changelog value (see WATERMARK_PREFIX), or null (a tombstone) for a live source that
   * is neither empty nor has a watermark yet: said empty, then a touchpoint came before its watermark.
   */
  const sourceState = (source: number): string | null => {
    if (demotedHistory.has(source)) return pendingHistory.has(source) ? DEMOTED_PENDING : DEMOTED;
    if (pendingHistory.has(source)) return PENDING;
    if (emptySources.has(source)) return isHistory(source) ? CLOSED : EMPTY;
    const watermark = sourceWatermarks.get(source);
    return watermark === undefined ? null : String(watermark);
  };

  const loopback = (r: JourneyRecord): OutgoingRecord => ({ topic: topics.identifiedTouchpoints, key: r.customerId, value: codecs.record.encode(r) });
  const sessionRecords = (list: Iterable<SessionRecord>): OutgoingRecord[] => Array.from(list, (s) => ({ topic: topics.sessions, key: s.customerId, value: codecs.session.encode(s) }));
  const sessionOutputIntervalMs = deps.sessionOutputIntervalMs ?? 0;
  /** Session versions not sent yet, the newest per session (versions only grow). */
  const heldSessions = new Map<string, SessionRecord>();
  let sessionsSentAt = -Infinity;
  /** A session change goes out now, or is held to go with the session's later changes. */
  const sessionOutputs = (list: SessionRecord[]): OutgoingRecord[] => {
    if (sessionOutputIntervalMs === 0) return sessionRecords(list);
    for (const s of list) heldSessions.set(s.sessionId, s);
    return [];
  };
  const releaseSessions = (): OutgoingRecord[] => {
    if (heldSessions.size === 0) return [];
    const out = sessionRecords(heldSessions.values());
    heldSessions.clear();
    return out;
  };
  const stageRecords = (out: { transitions: StageTransition[]; funnel: FunnelEvent[]; churn: ChurnScore[] }): OutgoingRecord[] => {
    counters.transitions(out.transitions.length);
    const records: OutgoingRecord[] = [
      ...out.transitions.map((t) => ({ topic: topics.stageTransitions, key: t.customerId, value: codecs.transition.encode(t) })),
      ...out.funnel.map((f) => ({ topic: topics.funnelEvents, key: f.customerId, value: codecs.funnel.encode(f) })),
    ];
    let crossed = 0;
    for (const c of out.churn) {
      const value = codecs.churn.encode(c);
      records.push({ topic: topics.churnScores, key: c.customerId, value });
      if (c.crossedThreshold) {
        records.push({ topic: topics.churnAlerts, key: c.customerId, value });
        crossed++;
      }
    }
    counters.churnAlerts(crossed);
    return records;
  };

  const attributionRecords = (rows: AttributionCredit[] | undefined): OutgoingRecord[] =>
    rows === undefined || rows.length === 0 ? [] : rows.map((r) => ({ topic: topics.attribution, key: r.customerId, value: attributionCodec!.encode(r) }));

  /** Records a survivor held while it waited (stamped with their offsets): processed now, in their order. */
  const releaseHeld = (held: Buffer[]): OutgoingRecord[] =>
    held.flatMap((encoded) => {
      const record = codecs.record.decode(encoded);
      return handle(record, record.inputOffset ?? 0);
    });

  /** `offset`: where the record was consumed (kept with a held record, passed on downstream). */
  const handle = (record: JourneyRecord, offset: number): OutgoingRecord[] => {
    // A deletion goes before any hold or forward: nothing of the customer may outlive it here.
    if (record.kind === 'forget') {
      forgetCustomer(record.customerId, { sessions, stages, forwards, barrier, attribution });
      for (const [id, held] of heldSessions) if (held.customerId === record.customerId) heldSessions.delete(id);
      return [];
    }
    const tp = record.kind === 'touchpoint' ? record.touchpoint?.touchpoint : undefined;
    if (tp && deps.forgotten?.drops(touchpointIds(tp), tp.receivedAt)) {
      counters.forgottenDropped?.();
      return [];
    }
    if (barrier.mustHold(record)) {
      if (barrier.hold(record.customerId, codecs.record.encode({ ...record, inputOffset: offset }))) return [];
      // The wait is full: it ends here, as one past its time does (the absorbed state merges when it comes).
      counters.mergeWaitsFull();
      return [...releaseHeld(barrier.end(record.customerId)), ...handle(record, offset)];
    }
    const survivor = forwards.survivorOf(record.customerId);
    if (survivor !== undefined && record.kind !== 'transfer') {
      // This customer was merged away: its late-routed touchpoints belong to the survivor, and its
      // merge notices concern no state here any more.
      return record.kind === 'touchpoint' ? [loopback({ ...record, customerId: survivor, touchpoint: { ...record.touchpoint, customerId: survivor } })] : [];
    }
    switch (record.kind) {
      case 'watermark':
        // Its source is one of this pipeline's inputs (readRecord).
        if (record.sourceWatermark !== null) noteSource(record.source, record.sourceWatermark);
        else noteEmpty(record.source);
        return [];
      case 'absorbing':
        barrier.absorbing(record.customerId, record.mergedFrom, now());
        return [];
      case 'touchpoint': {
        const ctp = record.touchpoint;
        let sourceWatermark = record.source != null && record.sourceWatermark != null ? record.sourceWatermark : undefined;
        const demoted = sourceWatermark !== undefined && demotedHistory.has(record.source!);
        if (demoted) {
          noteDemotedBegun(record.source!);
          // Judged against the partition's clock, not its own source's: late unless inside a session still open there.
          sourceWatermark = Math.max(sourceWatermark!, sessions.watermark);
        } else if (sourceWatermark !== undefined && validSource(record.source!)) {
          if (isHistory(record.source!) && !openHistory(record.source!)) openHistorySource(record.source!, sourceWatermark);
          else noteProgress(record.source!, sourceWatermark);
        }
        // At the time the stages take it (a future-stamped event counts as received).
        eviction.beforeTouchpoint(record.customerId, Math.min(ctp.touchpoint.timestamp, ctp.touchpoint.receivedAt));
        const result = sessions.process(ctp.touchpoint, record.customerId, ctp.accountId, sourceWatermark);
        if (result.duplicate) {
          counters.duplicates();
          return [];
        }
        if (result.late) counters.late();
        if (demoted) counters.demotedTouchpoint?.(result.late);
        else capHeldEvents();
        const attributed = { ...ctp, customerId: record.customerId, accountId: result.accountId, sessionId: result.sessionId, late: result.late };
        counters.touchpoints();
        // A timestamp after the collector received the event (a skewed client clock) counts as then.
        const staged = stages.process(attributed, ctp.touchpoint.receivedAt);
        return [
          { topic: topics.customerTouchpoints, key: record.customerId, value: codecs.record.encode({ ...record, inputOffset: offset, touchpoint: attributed }) },
          ...sessionOutputs(result.sessions),
          ...stageRecords({ transitions: staged.transitions, funnel: staged.funnel, churn: staged.churn ? [staged.churn] : [] }),
          ...attributionRecords(attribution?.process(attributed, stagesEnteredBy(staged.transitions, ctp.touchpoint.messageId))),
        ];
      }
      case 'merge': {
        const into = record.mergeInto;
        forwards.firstTime(record.customerId, into, eventTime());
        const journey = stages.exportCustomer(record.customerId);
        const journeyPart = journey === null ? null : encodeJourneyState(journey);
        const attributionPart = attribution?.exportCustomer(record.customerId) ?? null;
        // The transfer carries the customer's value: bounded as its changelog value is.
        sessions.trimToFit(record.customerId, bounds.maxStateBytes - CUSTOMER_STATE_HEADER_BYTES - (journeyPart?.length ?? 0) - (attributionPart?.length ?? 0));
        const sessionsPart = sessions.exportCustomer(record.customerId);
        const state = encodeCustomerState({ sessions: sessionsPart, journey: journeyPart, attribution: attributionPart });
        // Sent even when there is nothing to merge: the survivor is waiting for it.
        return [loopback({ kind: 'transfer', customerId: into, touchpoint: null, mergeInto: null, mergedFrom: record.customerId, state })];
      }
      case 'transfer': {
        const { merge, release } = barrier.transferred(record.customerId, record.mergedFrom, eventTime());
        const out: OutgoingRecord[] = [];
        if (merge && record.state) {
          const parts = decodeCustomerState(record.state);
          if (parts.sessions) out.push(...sessionOutputs(sessions.importCustomer(record.customerId, parts.sessions)));
          if (parts.journey) {
            const merged = stages.importCustomer(record.customerId, decodeJourneyState(parts.journey));
            out.push(...stageRecords({ transitions: merged.transitions, funnel: merged.funnel, churn: merged.churn ? [merged.churn] : [] }));
          }
          // The absorbed id's touches count for the survivor's conversions, and the survivor's for its.
          if (parts.attribution && attribution) out.push(...attributionRecords(attribution.importCustomer(record.customerId, parts.attribution)));
        }
        return [...out, ...releaseHeld(release)];
      }
    }
  };

  const undecodable = (message: KafkaMessage, reason: string): OutgoingRecord => {
    counters.deadLetter();
    return deadLetterRecord(topics.deadLetter, { topic: topics.identifiedTouchpoints, stage: 'journey', message }, reason, now());
  };

  /**
   * A member's record, or why it is none this step can handle: bytes that do not decode, fields
   * that do not fit the record's kind (the codec checks the union of journey.ts), or a watermark of
   * a touchpoints partition this pipeline does not have.
   */
  const readRecord = (member: KafkaMessage): StepResult<JourneyRecord> => {
    if (!member.value) return dlq('empty message value');
    let record: JourneyRecord;
    try {
      record = codecs.record.decode(member.value);
    } catch (error) {
      return dlq((error as Error).message, error);
    }
    if (record.kind === 'watermark' && !validSource(record.source)) {
      return dlq(`watermark of router input ${record.source}: the touchpoints topics have ${deps.sourcePartitions} partitions each (sources 0..${2 * deps.sourcePartitions - 1})`);
    }
    return ok(record);
  };

  /**
   * Outputs go as they are unless one is over the record limit (a transfer of an unusually large
   * customer, say): that one goes to the dead-letter topic with its size and why, never to the
   * producer, which would refuse it for ever.
   */
  const fitted = (records: OutgoingRecord[]): OutgoingRecord[] => {
    for (let i = 0; i < records.length; i++) {
      const bytes = recordBytes(records[i]!);
      if (bytes <= MAX_RECORD_BYTES) continue;
      counters.oversizedOutput();
      records[i] = oversizedRecordDeadLetter(topics.deadLetter, 'journey', records[i]!, bytes, MAX_RECORD_BYTES, now());
    }
    return records;
  };

  /**
   * A customer's changelog value, at most `bounds.maxStateBytes`: over it, the sessions part is
   * trimmed (SessionizerPartition.trimToFit) to what the journey part leaves.
   */
  const customerValue = (customerId: string): Buffer | null => {
    const journey = stages.snapshot(customerId);
    const attributionPart = attribution?.snapshot(customerId) ?? null;
    // In place: encodeCustomerState copies it before the next snapshot.
    const value = encodeCustomerState({ sessions: sessions.snapshotInPlace(customerId), journey, attribution: attributionPart });
    if (value === null || value.length <= bounds.maxStateBytes) return value;
    const room = bounds.maxStateBytes - CUSTOMER_STATE_HEADER_BYTES - (journey?.length ?? 0) - (attributionPart?.length ?? 0);
    return encodeCustomerState({ sessions: sessions.trimToFit(customerId, room), journey, attribution: attributionPart });
  };

  return {
    sessions,
    stages,
    attribution,
    restore(key, value) {
      if (forwards.restore(key, value) || barrier.restore(key, value)) return;
      if (key === HELD_BASE_KEY) {
        heldBase = value === null ? null : Number(value.toString('utf8'));
        return;
      }
      if (key.startsWith(WATERMARK_PREFIX)) {
        // A source's watermark only moves on (a history source's starts over with each import); a
        // live source's `empty` is deleted when it is heard from before its watermark (sourceState).
        restoredClock = true;
        const source = Number(key.slice(WATERMARK_PREFIX.length));
        if (!validSource(source)) return;
        const text = value?.toString('utf8');
        if (!isHistory(source)) {
          if (text !== undefined && text !== EMPTY) return noteSource(source, Number(text));
          sourceWatermarks.delete(source);
          sourceProgress.delete(source);
          if (text === EMPTY) emptySources.add(source);
          else emptySources.delete(source);
          return;
        }
        if (text === undefined) return;
        // A history source's state as it was written, whatever order the keys come in.
        pendingHistory.delete(source);
        emptySources.delete(source);
        demotedHistory.delete(source);
        if (text === CLOSED) emptySources.add(source);
        else if (text === PENDING) pendingHistory.add(source);
        else if (text === DEMOTED) demotedHistory.add(source);
        else if (text === DEMOTED_PENDING) {
          demotedHistory.add(source);
          pendingHistory.add(source);
        } else {
          sourceWatermarks.set(source, Number(text));
          sourceProgress.set(source, Number(text));
        }
        return;
      }
      // A tombstone (an evicted or deleted customer) removes every part; a later value replaces them all.
      const parts = value === null ? NO_PARTS : decodeCustomerState(value);
      sessions.restore(key, parts.sessions);
      stages.restore(key, parts.journey);
      attribution?.restore(key, parts.attribution ?? null);
    },
    process(message: KafkaMessage) {
      if (restoredClock) settleRestoredClock();
      // The router sends in bundles (record-bundle.ts): one input offset, its members in order.
      let members: KafkaMessage[];
      try {
        members = membersOf(message);
      } catch (error) {
        return [undecodable(message, (error as Error).message)];
      }
      const offset = Number(message.offset);
      const out: OutgoingRecord[] = [];
      for (const member of members) {
        const read = readRecord(member);
        if (read.kind === 'ok') for (const r of handle(read.value, offset)) out.push(r);
        else out.push(undecodable(member, read.reason));
      }
      return fitted(out);
    },
    tick(at: number, context) {
      if (restoredClock) settleRestoredClock();
      // Wall-clock punctuation only for an idle, caught-up partition, and only for live sources.
      if (context.caughtUp) {
        advanceLiveSources(at - deps.maxEventLagMs);
        counters.idleTick();
      }
      const expired = barrier.overdue(at, context.caughtUp);
      counters.mergeWaitsExpired(expired.length);
      const released = expired.flatMap(releaseHeld);
      // A waiting survivor's sessions stay open until the absorbed sessions have been merged in.
      const closed = sessions.expire((customerId) => barrier.isWaiting(customerId));
      counters.sessionsClosed(closed.length);
      // Drop-offs, lapses and the rescoring of silent customers follow event time, never the wall
      // clock: a replay or an import of last month settles them as the events' own time passes
      // their deadlines, exactly as the live stream did. The partition's watermark less the grace
      // period (the sessions' fold horizon): a touchpoint that comes after with an earlier time is
      // late by definition, so whether a window expired first cannot depend on arrival timing. A
      // survivor waiting for an absorbed journey keeps its deadlines, as it keeps its sessions open,
      // until its held touchpoints have met the merged state.
      const clock = eventTime();
      const settled = Number.isFinite(clock) ? stageRecords(stages.tick(clock, deps.tickLimit, (customerId) => barrier.isWaiting(customerId))) : [];
      // After the expiry and the stages' due work above: what is evicted has nothing left to emit.
      eviction.pass(clock, deps.tickLimit);
      const sessionsOut = sessionOutputs(closed);
      if (heldSessions.size > 0 && at - sessionsSentAt >= sessionOutputIntervalMs) {
        sessionsSentAt = at;
        sessionsOut.push(...releaseSessions());
      }
      return fitted([...released, ...sessionsOut, ...settled]);
    },
    drain: () => fitted(releaseSessions()),
    // The larger of the two parts' counts, not their sum: a touchpoint changes both parts of one
    // customer, so a sum counted most customers twice and flushed at half the cap. The union lies
    // between this and twice it. Not the attribution part's: it changes only with the same
    // customer's journey (a touchpoint, a merge).
    changedKeys: () => Math.max(sessions.dirtyCount(), stages.dirtyCount()) + dirtySources.size + (heldBaseDirty ? 1 : 0),
    takeStateUpdates(): StateUpdate[] {
      // One value per changed customer, whichever part changed.
      const changed = new Set([...sessions.dirtyKeys(), ...stages.takeDirtyKeys(), ...(attribution?.takeDirtyKeys() ?? [])]);
      const updates: StateUpdate[] = [];
      for (const customerId of changed) {
        updates.push({ key: customerId, value: customerValue(customerId) });
      }
      for (const source of dirtySources) {
        const state = sourceState(source);
        updates.push({ key: `${WATERMARK_PREFIX}${source}`, value: state === null ? null : Buffer.from(state) });
      }
      dirtySources.clear();
      if (heldBaseDirty) updates.push({ key: HELD_BASE_KEY, value: Buffer.from(String(heldBase)) });
      heldBaseDirty = false;
      updates.push(...forwards.drainUpdates(), ...barrier.drainUpdates());
      return updates;
    },
  };
}
