import type { KafkaMessage } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import type { Codec } from '../../schemas/codec.js';
import type { JourneyRecord } from '../../schemas/journey.js';
import type { Touchpoint } from '../../schemas/touchpoint.js';
import type { Topics } from '../../schemas/topics.js';
import type { PartitionBatch, PartitionHandler } from '../platform/kafka/consumer.js';
import type { OutgoingRecord, RecordProducer } from '../platform/kafka/producer.js';
import type { Logger } from '../platform/logging/logger.js';
import { deadLetterRecord } from '../platform/pipeline/dead-letter.js';
import { touchpointIds } from '../platform/privacy/deletion-request.js';
import { linksFrom, type LinkOptions } from './core/identity.js';
import { RecentMessages } from './core/recent-messages.js';
import type { RetryWindowCopy } from './retry-window-copy.js';
import { routerMarkerKey, routerMarkerValue, type createIdentityTable } from './identity-table.js';

/** How often (processing time) an input partition's watermark goes to every output partition. */
const WATERMARK_EVERY_MS = 500;

/** Where one touchpoint went: its customer, and the merges its links caused (in order). */
interface RouteDecision {
  customerId: string;
  merges: JourneyRecord[];
}

export interface IdentityRouterDeps {
  topics: Topics;
  table: ReturnType<typeof createIdentityTable>;
  /** Writes the identity links with each batch's applied-offset marker (one atomic append). */
  producer: RecordProducer;
  /** Writes the routed records (default `producer`); may gather them with other steps' outputs. */
  outputs?: RecordProducer;
  touchpointCodec: Codec<Touchpoint>;
  recordCodec: Codec<JourneyRecord>;
  linkOptions: LinkOptions;
  /** How many recent messageIds each partition remembers to drop retries before routing. */
  recentMessagesPerPartition: number;
  /** Reads the touchpoints of `partition` in [from, to) (from clamped to the partition's start), oldest first. */
  readRange(partition: number, from: bigint, to: bigint, onMessage: (message: KafkaMessage) => void): Promise<void>;
  /** The local copy of a partition's retry window, or null (no state directory, or held by another process). */
  openWindowCopy?(partition: number): RetryWindowCopy | null;
  /** Partitions of identified-touchpoints: each gets this router's watermarks (at most every WATERMARK_EVERY_MS). */
  outputPartitions(): Promise<number>;
  /** Whether the touchpoints partition holds nothing to read now (its start offset is its end). */
  inputIsEmpty(partition: number): Promise<boolean>;
  registry: Registry;
  logger: Logger;
  now: () => number;
}

/**
 * Stage one of the sessionizer: resolve each touchpoint to its customer and re-key it by customer id
 * onto `identified-touchpoints` (Kafka Streams' repartition step). New links go to the identity
 * table topic; a link that merges two customers sends a `merge` notice to the absorbed customer's
 * owner, which hands its state to the survivor's owner (see journey-processor.ts).
 */
export function createIdentityRouter(deps: IdentityRouterDeps): PartitionHandler {
  const outputs = deps.outputs ?? deps.producer;
  /** When each input partition last sent its watermark to every output partition, and which. */
  const watermarkSent = new Map<number, { at: number; watermark: number }>();
  /** When each input partition last said it was empty. */
  const emptySent = new Map<number, number>();
  const routed = new Counter({ name: 'sessionizer_touchpoints_routed_total', help: 'Touchpoints re-keyed by customer', registers: [deps.registry] });
  const mergesTotal = new Counter({ name: 'sessionizer_identity_merges_total', help: 'Customers merged by identity links', registers: [deps.registry] });
  const dead = new Counter({ name: 'sessionizer_dead_letters_total', help: 'Undecodable touchpoints', registers: [deps.registry] });
  const retries = new Counter({ name: 'sessionizer_router_duplicates_total', help: 'Touchpoints dropped by the router as recent duplicates (SDK retries)', registers: [deps.registry] });
  const forgottenDrops = new Counter({ name: 'sessionizer_forgotten_touchpoints_dropped_total', help: 'Touchpoints of forgotten ids dropped by the router (README: Privacy)', registers: [deps.registry] });
  const recent = new Map<number, RecentMessages>();
  const windowCopies = new Map<number, RetryWindowCopy>();
  /**
   * Per input partition: the max event time routed so far (its event-time watermark). Each routed
   * touchpoint carries the value from just before it, and every batch ends with a `watermark`
   * record to each output partition, so the sessions stage can decide lateness by the input order
   * alone and hold its own watermark at the least of the sources. Kept in the applied marker.
   */
  const watermarks = new Map<number, number>();
  const watermarkOf = (partition: number) => watermarks.get(partition) ?? deps.table.appliedWatermark(partition) ?? -Infinity;

  const record = (r: JourneyRecord): OutgoingRecord => ({ topic: deps.topics.identifiedTouchpoints, key: r.customerId, value: deps.recordCodec.encode(r) });

  /**
   * Routing decisions of sends that failed, by partition:offset. The in-memory graph already holds
   * their links, so a retried batch would route its earlier touchpoints to the survivor and find
   * nothing to merge: it replays these decisions instead, so the output is the same sequence as
   * if the first send had succeeded.
   */
  const unsentRoutes = new Map<string, RouteDecision>();
  /** Link entries of sends that failed (the graph holds them; a retry would not find them new). */
  let unsentLinks: OutgoingRecord[] = [];

  const decide = (tp: Touchpoint, linkEntries: Map<string, string>): RouteDecision => {
    const merges: JourneyRecord[] = [];
    for (const link of linksFrom(tp, deps.linkOptions)) {
      const result = deps.table.apply(link);
      for (const [id, parent] of deps.table.entriesFor([link.a, link.b])) linkEntries.set(id, parent);
      if (result.merged) {
        mergesTotal.inc();
        merges.push(
          { kind: 'merge', customerId: result.absorbed, touchpoint: null, mergeInto: result.survivor, mergedFrom: null, state: null },
          { kind: 'absorbing', customerId: result.survivor, touchpoint: null, mergeInto: null, mergedFrom: result.absorbed, state: null },
        );
        for (const [id, parent] of deps.table.entriesFor([result.absorbed])) linkEntries.set(id, parent);
      }
    }
    return { customerId: deps.table.graph.customerIdFor(tp), merges };
  };

  const route = (message: KafkaMessage, partition: number, out: OutgoingRecord[], decisions: Map<string, RouteDecision>, linkEntries: Map<string, string>, seen: RecentMessages) => {
    let tp: Touchpoint;
    try {
      if (!message.value) throw new Error('empty message value');
      tp = deps.touchpointCodec.decode(message.value);
    } catch (error) {
      dead.inc();
      out.push(deadLetterRecord(deps.topics.deadLetter, { topic: deps.topics.touchpoints, stage: 'sessionizer', message }, (error as Error).message, deps.now()));
      return;
    }
    if (seen.seenBefore(tp.messageId)) {
      retries.inc(); // a drop, not a loss: the first copy went on
      return;
    }
    // A deleted customer's data (a replay, or suppressed new data) is neither linked nor routed.
    if (deps.table.forgotten.drops(touchpointIds(tp), tp.receivedAt)) {
      forgottenDrops.inc();
      return;
    }
    const at = `${partition}:${message.offset}`;
    const decision = unsentRoutes.get(at) ?? decide(tp, linkEntries);
    decisions.set(at, decision);
    // Merge notices in sequence: the absorbed customer's touchpoints routed before this one precede
    // the notice on its partition whatever the batch boundaries were, so its exported state is too.
    for (const merge of decision.merges) out.push(record(merge));
    routed.inc();
    const { customerId } = decision;
    const watermark = watermarkOf(partition);
    out.push(
      record({
        kind: 'touchpoint',
        customerId,
        touchpoint: { customerId, accountId: tp.groupId, sessionId: '', late: false, touchpoint: tp },
        mergeInto: null,
        mergedFrom: null,
        state: null,
        source: partition,
        // The partition's first touchpoint has nothing before it: it is on time by definition.
        sourceWatermark: Number.isFinite(watermark) ? watermark : tp.timestamp,
      }),
    );
    if (tp.timestamp > watermark) watermarks.set(partition, tp.timestamp);
  };

  /**
   * One record per output partition: how far `partition` has come in event time. Sent at most every
   * WATERMARK_EVERY_MS per input partition: the routed touchpoints carry it too, and these records
   * are for output partitions this input sends nothing to (their sessions still close).
   */
  const watermarkRecords = async (partition: number): Promise<OutgoingRecord[]> => {
    const watermark = watermarkOf(partition);
    const sent = watermarkSent.get(partition);
    if (!Number.isFinite(watermark) || (sent && (sent.watermark === watermark || deps.now() - sent.at < WATERMARK_EVERY_MS))) return [];
    watermarkSent.set(partition, { at: deps.now(), watermark });
    const value = deps.recordCodec.encode({ kind: 'watermark', customerId: '', touchpoint: null, mergeInto: null, mergedFrom: null, state: null, source: partition, sourceWatermark: watermark });
    const count = await deps.outputPartitions();
    return Array.from({ length: count }, (_, q) => ({ topic: deps.topics.identifiedTouchpoints, key: '', value, partition: q }));
  };

  /**
   * For an input partition that has never had a touchpoint: a `watermark` record without a
   * watermark, saying it was empty when looked at (checked then, not remembered: an import may have
   * filled it a moment ago). The sessions stage then leaves it out of its least-of-the-sources
   * watermark instead of waiting for it; its first touchpoint makes it count again. At most every
   * WATERMARK_EVERY_MS, and only while the partition has no watermark at all.
   */
  const emptyNotices = async (partition: number): Promise<OutgoingRecord[]> => {
    const sentAt = emptySent.get(partition);
    if (Number.isFinite(watermarkOf(partition)) || (sentAt !== undefined && deps.now() - sentAt < WATERMARK_EVERY_MS)) return [];
    emptySent.set(partition, deps.now());
    if (!(await deps.inputIsEmpty(partition))) return [];
    const value = deps.recordCodec.encode({ kind: 'watermark', customerId: '', touchpoint: null, mergeInto: null, mergedFrom: null, state: null, source: partition, sourceWatermark: null });
    const count = await deps.outputPartitions();
    return Array.from({ length: count }, (_, q) => ({ topic: deps.topics.identifiedTouchpoints, key: '', value, partition: q }));
  };

  return {
    /** A watermark held back by the interval goes once the partition is quiet; an empty partition says so. */
    async onIdle(tp) {
      if (!recent.has(tp.partition)) return null;
      const records = Number.isFinite(watermarkOf(tp.partition)) ? await watermarkRecords(tp.partition) : await emptyNotices(tp.partition);
      if (records.length > 0) await outputs.send(records);
      return null;
    },
    async onRevoked(tp) {
      watermarkSent.delete(tp.partition);
      emptySent.delete(tp.partition);
      windowCopies.get(tp.partition)?.close();
      windowCopies.delete(tp.partition);
    },
    async onAssigned(tp, committed) {
      await deps.table.caughtUp();
      // The previous owner's marker for this partition may have been written a moment ago.
      await deps.table.catchUpToEnd();
      watermarks.delete(tp.partition); // resume from the marker's watermark, not a former assignment's
      // The retry window is rebuilt: the messageIds just before where this partition resumes, from
      // the local copy and, for what it lacks, from the input itself. Otherwise an SDK retry whose
      // first copy came before a restart would be routed again, possibly to the survivor of a merge
      // its first copy preceded.
      const applied = deps.table.appliedOffset(tp.partition);
      const resumeAt = [committed.offset === '-1' ? 0n : BigInt(committed.offset), applied === null ? 0n : applied + 1n].reduce((a, b) => (a > b ? a : b));
      const seen = new RecentMessages(deps.recentMessagesPerPartition);
      const started = deps.now();
      windowCopies.get(tp.partition)?.close();
      windowCopies.delete(tp.partition);
      const copy = deps.openWindowCopy?.(tp.partition) ?? null;
      const fromCopy = copy?.load(resumeAt) ?? null;
      if (fromCopy) seen.remember(fromCopy.hashes);
      // What the copy lacks: the ids between its end and where routing resumes (all of the window without a copy).
      const windowStart = resumeAt - BigInt(deps.recentMessagesPerPartition);
      const readFrom = fromCopy && fromCopy.end > windowStart ? fromCopy.end : windowStart;
      let read = 0;
      if (readFrom < resumeAt) {
        await deps.readRange(tp.partition, readFrom, resumeAt, (message) => {
          read++;
          try {
            if (message.value) seen.seenBefore(deps.touchpointCodec.leadingString(message.value));
          } catch {
            // Undecodable input was dead-lettered when it was first routed.
          }
        });
      }
      seen.commit();
      recent.set(tp.partition, seen);
      if (copy) {
        if (read > 0 || !fromCopy) copy.reset(seen.hashes(), resumeAt);
        windowCopies.set(tp.partition, copy);
      }
      deps.logger.info({ partition: tp.partition, resumeAt: resumeAt.toString(), ids: seen.size, fromCopy: fromCopy?.hashes.length ?? 0, readFromInput: read, ms: deps.now() - started }, 'router retry window rebuilt');
    },
    async handleBatch(batch: PartitionBatch) {
      const out: OutgoingRecord[] = [];
      const decisions = new Map<string, RouteDecision>();
      const linkEntries = new Map<string, string>();
      let seen = recent.get(batch.partition);
      if (!seen) recent.set(batch.partition, (seen = new RecentMessages(deps.recentMessagesPerPartition)));
      // Touchpoints up to the marker were routed completely before a crash or a move: routing them
      // again with a graph that already holds their links could send them to another customer.
      const applied = deps.table.appliedOffset(batch.partition);
      const watermarkBefore = watermarkOf(batch.partition);
      let last: bigint | null = null;
      let firstRouted: bigint | null = null;
      for (const message of batch.messages) {
        last = BigInt(message.offset);
        if (applied !== null && last <= applied) continue;
        firstRouted ??= last;
        route(message, batch.partition, out, decisions, linkEntries, seen);
      }
      if (last === null) return null;
      // Outputs first, then the links with the applied-offset marker in one send to the table's
      // single partition (one atomic append). A crash between the two leaves the graph without this
      // batch's links, so the replay routes every touchpoint exactly as the first time; a crash
      // after both finds the marker and skips the batch.
      const links: OutgoingRecord[] = [...linkEntries].map(([id, parent]) => ({ topic: deps.topics.identityLinks, key: id, value: Buffer.from(parent) }));
      const watermark = watermarkOf(batch.partition);
      const marker: OutgoingRecord = {
        topic: deps.topics.identityLinks,
        key: routerMarkerKey(batch.partition),
        value: Buffer.from(routerMarkerValue(last, Number.isFinite(watermark) ? watermark : null)),
      };
      try {
        out.push(...(await watermarkRecords(batch.partition)));
        await outputs.send(out);
        await deps.producer.send([...unsentLinks, ...links, marker]);
      } catch (error) {
        seen.rollback(); // the batch will be handled again: its ids must not count as seen
        watermarkSent.delete(batch.partition);
        watermarks.set(batch.partition, watermarkBefore); // and its touchpoints must carry the same watermarks
        unsentLinks = [...unsentLinks, ...links];
        for (const [at, decision] of decisions) unsentRoutes.set(at, decision);
        throw error;
      }
      deps.table.markApplied(batch.partition, last, Number.isFinite(watermark) ? watermark : null);
      unsentLinks = [];
      for (const at of decisions.keys()) unsentRoutes.delete(at);
      const committed = seen.commit();
      if (firstRouted !== null && committed.length > 0) windowCopies.get(batch.partition)?.append(firstRouted, committed, last + 1n);
      return { offset: (last + 1n).toString() };
    },
  };
}
