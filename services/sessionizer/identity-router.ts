import type { KafkaMessage } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import type { Codec } from '../../schemas/codec.js';
import type { JourneyRecord } from '../../schemas/journey.js';
import type { Touchpoint } from '../../schemas/touchpoint.js';
import type { Topics } from '../../schemas/topics.js';
import { historyMarkerOf } from '../../schemas/history-marker.js';
import type { PartitionBatch, PartitionHandler, TopicPartition } from '../platform/kafka/consumer.js';
import type { OutgoingRecord, RecordProducer } from '../platform/kafka/producer.js';
import type { Logger } from '../platform/logging/logger.js';
import { deadLetterRecord } from '../platform/pipeline/dead-letter.js';
import { touchpointIds } from '../platform/privacy/deletion-request.js';
import { linksFrom, type LinkOptions } from './core/identity.js';
import { RecentMessages } from './core/recent-messages.js';
import { createRouterPipeline, linkEntryBytes, type LinkEntries, type RoutedPoint } from './router-pipeline.js';
import type { RetryWindowCopy } from './retry-window-copy.js';
import { routerMarkerKey, routerMarkerValue, type createIdentityTable } from './identity-table.js';

/** How often (processing time) an input partition's watermark goes to every output partition. */
const WATERMARK_EVERY_MS = 500;
/** Routed bytes waiting for the broker beyond which routing waits for a round (router-pipeline.ts). */
const MAX_QUEUED_OUTPUT_BYTES = 4 * 1024 * 1024;
/**
 * Link bytes (linkEntryBytes) after which a batch is cut (a point there, queued as a piece of its
 * own): a round's append (links and markers) must stay one request of MAX_REQUEST_BYTES, or the
 * producer would split it and a crash between the parts would leave links without their marker.
 * The pipeline puts as many pieces in one round as fit (router-pipeline.ts).
 */
const MAX_LINK_BYTES_PER_ROUND = 256 * 1024;

const noteLink = (links: LinkEntries, id: string, parent: string) => {
  links.entries.set(id, parent);
  links.bytes += linkEntryBytes(id, parent);
};

/** A touchpoint whose links touched nothing (most): its decision shares this. */
const NO_LINKS: ReadonlyArray<readonly [string, string]> = [];

/**
 * Where one touchpoint went: its customer, the merges its links caused (in order), and the link
 * entries its routing wrote (as they were then). A replayed decision writes these again, with its
 * own partition's marker: the graph already holds them, so routing again would not find them.
 */
interface RouteDecision {
  customerId: string;
  merges: JourneyRecord[];
  links: ReadonlyArray<readonly [string, string]>;
}

/**
 * One input of the router: a `touchpoints` partition p (source p, lane live) or a
 * `touchpoints-history` partition p (source P + p, lane history; P the touchpoints partition count).
 * The source number is what routed records carry, so the journey step keeps one event-time
 * watermark per input (docs/history-lane.md). Its applied-offset marker has a key of its own.
 */
interface RouterInput {
  topic: string;
  partition: number;
  lane: 'live' | 'history';
  source: number;
  marker: string;
}

/** One assigned input: its retry window and what it routed that is not durable yet. */
interface PartitionRun {
  seen: RecentMessages;
  /** Routing decisions since the partition's last durable point, by input offset (in order). */
  decisions: Map<bigint, RouteDecision>;
  /** The newest offset handled (routed or dropped), durable or not. */
  handled: bigint | null;
  /** The first offset routed since the partition's previous point was queued. */
  firstUnqueued: bigint | null;
  /** A round holding this partition's work failed: the next batch or tick throws, so the consumer rewinds. */
  failed: unknown;
  /**
   * A history input whose last routed record is an import's end marker: closed until its next
   * import. The batch that closes it ends with a notice to every journey partition, which keeps it
   * in its changelog (so nothing here needs to be kept or said again).
   */
  closed: boolean;
}

export interface IdentityRouterDeps {
  topics: Topics;
  table: ReturnType<typeof createIdentityTable>;
  /** Writes the identity links with the applied-offset markers (one atomic append per round). */
  producer: RecordProducer;
  /** Writes the routed records (default `producer`); may gather them with other steps' outputs. */
  outputs?: RecordProducer;
  touchpointCodec: Codec<Touchpoint>;
  recordCodec: Codec<JourneyRecord>;
  linkOptions: LinkOptions;
  /** How many recent messageIds each partition remembers to drop retries before routing. */
  recentMessagesPerPartition: number;
  /** Reads the records of an input partition in [from, to) (from clamped to the partition's start), oldest first. */
  readRange(input: TopicPartition, from: bigint, to: bigint, onMessage: (message: KafkaMessage) => void): Promise<void>;
  /** The local copy of an input partition's retry window, or null (no state directory, or held by another process). */
  openWindowCopy?(input: TopicPartition): RetryWindowCopy | null;
  /** Partitions of identified-touchpoints: each gets this router's watermarks (at most every WATERMARK_EVERY_MS). */
  outputPartitions(): Promise<number>;
  /** Partitions of `touchpoints` (P): a `touchpoints-history` partition p is source P + p. */
  inputPartitions(): Promise<number>;
  /** Whether the input partition holds nothing to read now (its start offset is its end). */
  inputIsEmpty(input: TopicPartition): Promise<boolean>;
  registry: Registry;
  logger: Logger;
  now: () => number;
}

/**
 * Stage one of the sessionizer: resolve each touchpoint to its customer and re-key it by customer id
 * onto `identified-touchpoints` (Kafka Streams' repartition step). New links go to the identity
 * table topic; a link that merges two customers sends a `merge` notice to the absorbed customer's
 * owner, which hands its state to the survivor's owner (see journey-processor.ts).
 *
 * Routing does not wait for the broker: routed work becomes durable in rounds (router-pipeline.ts),
 * and a batch returns the partition's newest durable point to commit. After a failed round, the
 * partitions whose work it held throw at their next batch or tick and are read again from their
 * durable point (the consumer's rewindOnFailure), routing them as the first time.
 */
export function createIdentityRouter(deps: IdentityRouterDeps): PartitionHandler & { flush(tp: TopicPartition): Promise<{ offset: string } | null> } {
  const outputs = deps.outputs ?? deps.producer;
  /** Every input seen, by source number (see RouterInput); the maps below are keyed by source too. */
  const inputs = new Map<number, RouterInput>();
  const inputOf = async (tp: TopicPartition): Promise<RouterInput> => {
    const lane = tp.topic === deps.topics.touchpointsHistory ? 'history' : 'live';
    const source = lane === 'history' ? (await deps.inputPartitions()) + tp.partition : tp.partition;
    let input = inputs.get(source);
    if (!input) inputs.set(source, (input = { topic: tp.topic, partition: tp.partition, lane, source, marker: routerMarkerKey(tp.partition, lane) }));
    return input;
  };
  const markerOf = (source: number) => inputs.get(source)!.marker;
  /** When each input partition last sent its watermark to every output partition, and which. */
  const watermarkSent = new Map<number, { at: number; watermark: number }>();
  /** When each input partition last said it was empty. */
  const emptySent = new Map<number, number>();
  /** Live inputs without a run here that this instance has said were empty (neverRoutedNotices): once each. */
  const emptyTold = new Set<number>();
  const routed = new Counter({ name: 'sessionizer_touchpoints_routed_total', help: 'Touchpoints re-keyed by customer', registers: [deps.registry] });
  const mergesTotal = new Counter({ name: 'sessionizer_identity_merges_total', help: 'Customers merged by identity links', registers: [deps.registry] });
  const dead = new Counter({ name: 'sessionizer_dead_letters_total', help: 'Undecodable touchpoints', registers: [deps.registry] });
  const retries = new Counter({ name: 'sessionizer_router_duplicates_total', help: 'Touchpoints dropped by the router as recent duplicates (SDK retries)', registers: [deps.registry] });
  const forgottenDrops = new Counter({ name: 'sessionizer_forgotten_touchpoints_dropped_total', help: 'Touchpoints of forgotten ids dropped by the router (README: Privacy)', registers: [deps.registry] });
  const runs = new Map<number, PartitionRun>();
  const windowCopies = new Map<number, RetryWindowCopy>();
  /**
   * Per input partition: the max event time routed so far (its event-time watermark). Each routed
   * touchpoint carries the value from just before it, and every batch ends with a `watermark`
   * record to each output partition, so the sessions stage can decide lateness by the input order
   * alone and hold its own watermark at the least of the sources. Kept in the applied marker.
   */
  const watermarks = new Map<number, number>();
  const watermarkOf = (source: number) => watermarks.get(source) ?? deps.table.appliedWatermark(markerOf(source)) ?? -Infinity;

  const record = (r: JourneyRecord): OutgoingRecord => ({ topic: deps.topics.identifiedTouchpoints, key: r.customerId, value: deps.recordCodec.encode(r) });

  /**
   * Routing decisions of rounds that failed, by partition:offset. The in-memory graph already holds
   * their links, so routing those touchpoints again would send the earlier ones to the survivor and
   * find nothing to merge: the rewound partition replays these decisions instead, so the output is
   * the same sequence as if the first round had succeeded.
   *
   * Their links are written only by the replay, each with the touchpoint it came from: in the round
   * that re-sends that touchpoint's outputs, with its own partition's marker. Written earlier (with
   * a round of other partitions' work, as a first version of the rounds did), a kill -9 before the
   * replay leaves the table holding links whose merge notices were never sent: the restarted router
   * finds nothing to merge and routes the partition differently (the 1M fault run's differing
   * sessions, docs/performance.md).
   */
  const unsentRoutes = new Map<string, RouteDecision>();

  const durablePoint = (source: number) => {
    const applied = deps.table.appliedOffset(markerOf(source));
    return applied === null ? null : { offset: (applied + 1n).toString() };
  };

  const pipeline = createRouterPipeline({
    outputs,
    table: deps.producer,
    appendOf: (links, points) => [
      ...[...links].map(([id, parent]): OutgoingRecord => ({ topic: deps.topics.identityLinks, key: id, value: Buffer.from(parent) })),
      ...points.map((p): OutgoingRecord => ({ topic: deps.topics.identityLinks, key: markerOf(p.partition), value: Buffer.from(routerMarkerValue(p.last, p.watermark)) })),
    ],
    onDurable: (points) => {
      for (const point of points) {
        deps.table.markApplied(markerOf(point.partition), point.last, point.watermark);
        const run = runs.get(point.partition);
        if (!run) continue; // revoked meanwhile: the marker is written, the run is gone
        for (const offset of run.decisions.keys()) {
          if (offset > point.last) break;
          run.decisions.delete(offset);
          if (unsentRoutes.size > 0) unsentRoutes.delete(`${point.partition}:${offset}`);
        }
        const committed = run.seen.commit(point.seenThrough);
        if (committed.length > 0) windowCopies.get(point.partition)?.append(point.first, committed, point.last + 1n);
      }
    },
    onFailed: (error) => {
      // Everything not durable is undone: ids not seen, decisions kept for the replay, watermarks
      // back to the markers'. The partitions concerned are read again from their durable points.
      for (const [source, run] of runs) {
        const applied = deps.table.appliedOffset(markerOf(source));
        if (run.handled === null || (applied !== null && run.handled <= applied)) continue;
        run.seen.rollback();
        for (const [offset, decision] of run.decisions) unsentRoutes.set(`${source}:${offset}`, decision);
        run.decisions.clear();
        run.handled = applied;
        run.firstUnqueued = null;
        run.failed ??= error;
        run.closed = false; // the replay routes the end marker again, if it was not durable
        watermarks.delete(source);
        watermarkSent.delete(source);
      }
      emptyTold.clear(); // a notice may have been in the failed round: said again at the next idle tick
    },
  });

  const runOf = (source: number): PartitionRun => {
    let run = runs.get(source);
    if (!run) runs.set(source, (run = { seen: new RecentMessages(deps.recentMessagesPerPartition), decisions: new Map(), handled: null, firstUnqueued: null, failed: undefined, closed: false }));
    return run;
  };
  /** A failed round held this partition's work: throw once, so the consumer reads it again from its durable point. */
  const throwIfFailed = (run: PartitionRun) => {
    if (run.failed === undefined) return;
    const error = run.failed;
    run.failed = undefined;
    throw error;
  };

  const decide = (tp: Touchpoint, linkEntries: LinkEntries): RouteDecision => {
    const merges: JourneyRecord[] = [];
    const links: Array<[string, string]> = [];
    for (const link of linksFrom(tp, deps.linkOptions)) {
      const result = deps.table.apply(link);
      links.push(...deps.table.entriesFor([link.a, link.b]));
      if (result.merged) {
        mergesTotal.inc();
        merges.push(
          { kind: 'merge', customerId: result.absorbed, touchpoint: null, mergeInto: result.survivor, mergedFrom: null, state: null },
          { kind: 'absorbing', customerId: result.survivor, touchpoint: null, mergeInto: null, mergedFrom: result.absorbed, state: null },
        );
        links.push(...deps.table.entriesFor([result.absorbed]));
      }
    }
    for (const [id, parent] of links) noteLink(linkEntries, id, parent);
    return { customerId: deps.table.graph.customerIdFor(tp), merges, links: links.length > 0 ? links : NO_LINKS };
  };

  const route = (message: KafkaMessage, input: RouterInput, out: OutgoingRecord[], run: PartitionRun, linkEntries: LinkEntries) => {
    const { source } = input;
    const marker = input.lane === 'history' ? historyMarkerOf(message) : null;
    if (marker?.kind === 'end') {
      // The import is done with this partition: closed (a notice ends the batch), and its next
      // import starts a watermark of its own.
      run.closed = true;
      watermarks.set(source, -Infinity);
      return;
    }
    if (marker?.kind === 'begin') {
      // An import opens this partition at its first chunk's earliest time (a resumed one goes on
      // from where it was); the watermark goes to every output partition at the end of the batch.
      const before = watermarkOf(source);
      watermarks.set(source, run.closed || !Number.isFinite(before) ? marker.firstEventTime : Math.max(before, marker.firstEventTime));
      run.closed = false;
      watermarkSent.delete(source);
      return;
    }
    let tp: Touchpoint;
    try {
      if (!message.value) throw new Error('empty message value');
      tp = deps.touchpointCodec.decode(message.value);
    } catch (error) {
      dead.inc();
      out.push(deadLetterRecord(deps.topics.deadLetter, { topic: input.topic, stage: 'sessionizer', message }, (error as Error).message, deps.now()));
      return;
    }
    if (run.seen.seenBefore(tp.messageId)) {
      retries.inc(); // a drop, not a loss: the first copy went on
      return;
    }
    // A deleted customer's data (a replay, or suppressed new data) is neither linked nor routed.
    if (deps.table.forgotten.drops(touchpointIds(tp), tp.receivedAt)) {
      forgottenDrops.inc();
      return;
    }
    // Empty but after a failed round: no key string is built per record then.
    const replayed = unsentRoutes.size === 0 ? undefined : unsentRoutes.get(`${source}:${message.offset}`);
    if (replayed) for (const [id, parent] of replayed.links) noteLink(linkEntries, id, parent);
    const decision = replayed ?? decide(tp, linkEntries);
    run.decisions.set(BigInt(message.offset), decision);
    // Merge notices in sequence: the absorbed customer's touchpoints routed before this one precede
    // the notice on its partition whatever the batch boundaries were, so its exported state is too.
    for (const merge of decision.merges) out.push(record(merge));
    routed.inc();
    run.closed = false; // a touchpoint after an end marker (an import without a begin) reopens the history input
    const { customerId } = decision;
    const watermark = watermarkOf(source);
    out.push(
      record({
        kind: 'touchpoint',
        customerId,
        touchpoint: { customerId, accountId: tp.groupId, sessionId: '', late: false, touchpoint: tp },
        mergeInto: null,
        mergedFrom: null,
        state: null,
        source,
        // The partition's first touchpoint has nothing before it: it is on time by definition.
        sourceWatermark: Number.isFinite(watermark) ? watermark : tp.timestamp,
      }),
    );
    if (tp.timestamp > watermark) watermarks.set(source, tp.timestamp);
  };

  /**
   * One record per output partition: how far `partition` has come in event time. Sent at most every
   * WATERMARK_EVERY_MS per input partition: the routed touchpoints carry it too, and these records
   * are for output partitions this input sends nothing to (their sessions still close).
   */
  const watermarkRecords = (source: number, count: number): OutgoingRecord[] => {
    const watermark = watermarkOf(source);
    const sent = watermarkSent.get(source);
    if (!Number.isFinite(watermark) || (sent && (sent.watermark === watermark || deps.now() - sent.at < WATERMARK_EVERY_MS))) return [];
    watermarkSent.set(source, { at: deps.now(), watermark });
    const value = deps.recordCodec.encode({ kind: 'watermark', customerId: '', touchpoint: null, mergeInto: null, mergedFrom: null, state: null, source, sourceWatermark: watermark });
    return Array.from({ length: count }, (_, q) => ({ topic: deps.topics.identifiedTouchpoints, key: '', value, partition: q }));
  };

  /**
   * For an input partition that has never had a touchpoint: a `watermark` record without a
   * watermark, saying it was empty when looked at (checked then, not remembered: an import may have
   * filled it a moment ago). The sessions stage then leaves it out of its least-of-the-sources
   * watermark instead of waiting for it; its first touchpoint makes it count again. At most every
   * WATERMARK_EVERY_MS, and only while the partition has no watermark at all.
   */
  const emptyNotices = async (input: RouterInput, count: number): Promise<OutgoingRecord[]> => {
    const sentAt = emptySent.get(input.source);
    if (Number.isFinite(watermarkOf(input.source)) || (sentAt !== undefined && deps.now() - sentAt < WATERMARK_EVERY_MS)) return [];
    emptySent.set(input.source, deps.now());
    if (!(await deps.inputIsEmpty(input))) return [];
    return nullNotices(input.source, count);
  };
  const nullNotices = (source: number, count: number): OutgoingRecord[] => {
    const value = deps.recordCodec.encode({ kind: 'watermark', customerId: '', touchpoint: null, mergeInto: null, mergedFrom: null, state: null, source, sourceWatermark: null });
    return Array.from({ length: count }, (_, q) => ({ topic: deps.topics.identifiedTouchpoints, key: '', value, partition: q }));
  };
  /**
   * A live input partition nothing was ever written to is never fetched, so the consumer never
   * assigns it to this handler (a partition is prepared at its first batch) and its idle ticks never
   * come: its own empty notice above is never sent, and the journey step waits for it as for any
   * source not heard from. That stops the journey step's clock while another live source trails
   * the wall clock (a replay, a backlog, `npm run import -- --live-topic`: advanceLiveSources then
   * moves no unheard source). So on its idle ticks every instance looks at the live partitions it
   * has no run for: one that no router ever routed (no watermark in its applied marker, which every
   * instance reads) and that is empty when looked at gets the notice, once per run of this instance
   * (the journey step keeps it in its changelog, so repeating it would only keep the journey
   * group's lag from reaching 0); a failed round says it again. Sent by every instance that has an
   * idle tick, which the journey step takes as one. History partitions are left out: their notice
   * closes an import, which only their owner may say.
   */
  const neverRoutedNotices = async (count: number): Promise<OutgoingRecord[]> => {
    const out: OutgoingRecord[] = [];
    const partitions = await deps.inputPartitions();
    for (let p = 0; p < partitions; p++) {
      if (runs.has(p) || emptyTold.has(p)) continue;
      const input = await inputOf({ topic: deps.topics.touchpoints, partition: p });
      if (runs.has(p) || emptyTold.has(p) || Number.isFinite(watermarkOf(p))) continue;
      const sentAt = emptySent.get(p);
      if (sentAt !== undefined && deps.now() - sentAt < WATERMARK_EVERY_MS) continue;
      emptySent.set(p, deps.now());
      if (!(await deps.inputIsEmpty(input)) || runs.has(p)) continue;
      emptyTold.add(p);
      out.push(...nullNotices(p, count));
    }
    return out;
  };

  /**
   * For a history input closed by an end marker: the same record as an empty input's notice, sent
   * once, at the end of the batch that routed the marker (the journey step takes it from a history
   * source whatever came before, and keeps it: docs/history-lane.md).
   */
  const closedNotices = (source: number, count: number): OutgoingRecord[] => nullNotices(source, count);

  return {
    /**
     * A watermark held back by the interval goes once the partition is quiet; an empty partition
     * says so, and so does a live partition never written, for its owner (neverRoutedNotices).
     */
    async onIdle(tp) {
      const input = await inputOf(tp);
      const run = runs.get(input.source);
      if (!run) return null;
      throwIfFailed(run);
      const count = await deps.outputPartitions();
      const records = Number.isFinite(watermarkOf(input.source)) ? watermarkRecords(input.source, count) : await emptyNotices(input, count);
      records.push(...(await neverRoutedNotices(count)));
      pipeline.enqueue(records, { entries: new Map(), bytes: 0 }, null);
      return durablePoint(input.source);
    },
    /** Before a stop: everything routed becomes durable (or the stop reports the failure). */
    async flush(tp) {
      const input = await inputOf(tp);
      const run = runs.get(input.source);
      if (!run) return null;
      await pipeline.flushed();
      throwIfFailed(run);
      return durablePoint(input.source);
    },
    async onRevoked(tp) {
      const { source } = await inputOf(tp);
      // What this partition routed goes on to its markers: the next owner catches up with the table
      // before routing, and either finds a round's links with its marker or neither (one append).
      await pipeline.flushed();
      runs.delete(source);
      watermarkSent.delete(source);
      emptySent.delete(source);
      windowCopies.get(source)?.close();
      windowCopies.delete(source);
    },
    async onAssigned(tp, committed) {
      const input = await inputOf(tp);
      const { source } = input;
      await pipeline.flushed(); // a former assignment's rounds end before this one starts
      await deps.table.caughtUp();
      // The previous owner's marker for this partition may have been written a moment ago.
      await deps.table.catchUpToEnd();
      watermarks.delete(source); // resume from the marker's watermark, not a former assignment's
      // The retry window is rebuilt: the messageIds just before where this partition resumes, from
      // the local copy and, for what it lacks, from the input itself. Otherwise an SDK retry whose
      // first copy came before a restart would be routed again, possibly to the survivor of a merge
      // its first copy preceded.
      const applied = deps.table.appliedOffset(input.marker);
      const resumeAt = [committed.offset === '-1' ? 0n : BigInt(committed.offset), applied === null ? 0n : applied + 1n].reduce((a, b) => (a > b ? a : b));
      const seen = new RecentMessages(deps.recentMessagesPerPartition);
      const started = deps.now();
      windowCopies.get(source)?.close();
      windowCopies.delete(source);
      const copy = deps.openWindowCopy?.(input) ?? null;
      const fromCopy = copy?.load(resumeAt) ?? null;
      if (fromCopy) seen.remember(fromCopy.hashes);
      // What the copy lacks: the ids between its end and where routing resumes (all of the window without a copy).
      const windowStart = resumeAt - BigInt(deps.recentMessagesPerPartition);
      const readFrom = fromCopy && fromCopy.end > windowStart ? fromCopy.end : windowStart;
      let read = 0;
      if (readFrom < resumeAt) {
        await deps.readRange(input, readFrom, resumeAt, (message) => {
          read++;
          try {
            if (message.value && historyMarkerOf(message) === null) seen.seenBefore(deps.touchpointCodec.leadingString(message.value));
          } catch {
            // Undecodable input was dead-lettered when it was first routed.
          }
        });
      }
      seen.commit();
      // Decisions kept from a failed round that another owner has since made durable are not needed again.
      const prefix = `${source}:`;
      for (const at of unsentRoutes.keys()) if (at.startsWith(prefix) && applied !== null && BigInt(at.slice(prefix.length)) <= applied) unsentRoutes.delete(at);
      runs.set(source, { seen, decisions: new Map(), handled: applied, firstUnqueued: null, failed: undefined, closed: false });
      if (copy) {
        if (read > 0 || !fromCopy) copy.reset(seen.hashes(), resumeAt);
        windowCopies.set(source, copy);
      }
      deps.logger.info({ topic: input.topic, partition: input.partition, resumeAt: resumeAt.toString(), ids: seen.size, fromCopy: fromCopy?.hashes.length ?? 0, readFromInput: read, ms: deps.now() - started }, 'router retry window rebuilt');
    },
    async handleBatch(batch: PartitionBatch) {
      const input = await inputOf(batch);
      const { source } = input;
      const run = runOf(source);
      throwIfFailed(run);
      // Asked before routing, so that the batch is routed and queued in one synchronous step: a
      // round that fails meanwhile finds all of it queued, or none of it.
      const outputPartitions = await deps.outputPartitions();
      throwIfFailed(run);
      // Touchpoints up to the marker were routed completely before a crash or a move: routing them
      // again with a graph that already holds their links could send them to another customer.
      const applied = deps.table.appliedOffset(input.marker);
      const skipThrough = applied !== null && (run.handled === null || applied > run.handled) ? applied : run.handled;
      let out: OutgoingRecord[] = [];
      let links: LinkEntries = { entries: new Map(), bytes: 0 };
      let last: bigint | null = null;
      /** Queues what is routed up to `last` with its point (one synchronous step with the routing). */
      const queue = () => {
        run.handled = last;
        const watermark = watermarkOf(source);
        const point: RoutedPoint = { partition: source, last: last!, watermark: Number.isFinite(watermark) ? watermark : null, first: run.firstUnqueued!, seenThrough: run.seen.position };
        run.firstUnqueued = null;
        pipeline.enqueue(out, links, point);
        out = [];
        links = { entries: new Map(), bytes: 0 };
      };
      for (const message of batch.messages) {
        const offset = BigInt(message.offset);
        if (skipThrough !== null && offset <= skipThrough) continue;
        last = offset;
        run.firstUnqueued ??= offset;
        route(message, input, out, run, links);
        // Cut without waiting: the batch stays one synchronous step (no round fails halfway
        // through it), and the pipeline gives each round only the pieces its append has room for.
        if (links.bytes > MAX_LINK_BYTES_PER_ROUND) queue();
      }
      if (last === null || run.handled === last) return durablePoint(source);
      // A batch that ends closed says so at once: the journey step stops waiting for this input.
      out.push(...(run.closed ? closedNotices(source, outputPartitions) : watermarkRecords(source, outputPartitions)));
      queue();
      if (pipeline.queuedBytes() > MAX_QUEUED_OUTPUT_BYTES) {
        await pipeline.flushed();
        throwIfFailed(run);
      }
      return durablePoint(source);
    },
  };
}
