import { join } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import type { Kafka } from 'kafkajs';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Stage } from '../../schemas/journey.js';
import type { Touchpoint } from '../../schemas/touchpoint.js';
import { topicCodecs, type Topics } from '../../schemas/topics.js';
import { createPartitionedConsumer, type TopicPartition } from '../platform/kafka/consumer.js';
import type { ConsumerTuning } from '../platform/kafka/consumer-tuning.js';
import { partitionCount } from '../platform/kafka/admin.js';
import { bundledTopics } from '../platform/kafka/pipeline-topics.js';
import { createBundlingProducer } from '../platform/kafka/bundling-producer.js';
import { createLingeringProducer } from '../platform/kafka/lingering-producer.js';
import { createKafkaProducer } from '../platform/kafka/producer.js';
import { readPartitionRange } from '../platform/kafka/read-range.js';
import type { Logger } from '../platform/logging/logger.js';
import { ForgottenIds } from '../platform/privacy/forgotten-ids.js';
import { createForgottenIdsReader } from '../platform/privacy/forgotten-ids-reader.js';
import { composeComponents, type Component } from '../platform/runtime/component.js';
import { mergeWaitLimits, type MergeWaitLimits } from '../platform/streams/merge-barrier.js';
import { openLocalStateLog } from '../platform/streams/local-state-log.js';
import { createStatefulHandler } from '../platform/streams/stateful-handler.js';
import type { CustomerBounds } from './core/customer-bounds.js';
import type { LinkOptions } from './core/identity.js';
import { sessionizerConfig, type SessionConfig } from './core/sessions.js';
import { createIdentityRouter } from './identity-router.js';
import { createIdentityTable, type IdentityStoreOption } from './identity-table.js';
import { DEFAULT_ATTRIBUTION_OPTIONS, type AttributionOptions } from './attribution/attribution-partition.js';
import type { EvictionLimits } from './idle-eviction.js';
import { createJourneyProcessor } from './journey-processor.js';
import { RetryWindowCopy } from './retry-window-copy.js';
import type { StagesPartitionOptions } from './stages/processor.js';

/** An event time for a log line; an unbounded one (a source still awaited, none at all) as null. */
const isoOrNull = (t: number) => (Number.isFinite(t) ? new Date(t).toISOString() : null);

export interface SessionizerServiceDeps {
  kafka: Kafka;
  topics: Topics;
  groupId: string;
  sessions: Partial<SessionConfig>;
  maxEventLagMs: number;
  linkOptions: LinkOptions;
  /** How long and for how many records a merge survivor waits for the absorbed state (default 5 min, 10,000). */
  mergeWait?: MergeWaitLimits;
  /** What one customer may keep in the journey step (default DEFAULT_CUSTOMER_BOUNDS; README: Known limits). */
  bounds?: CustomerBounds;
  /** How long idle customers and merge-ledger entries stay, in event time (default DEFAULT_EVICTION_LIMITS; README: Known limits). */
  eviction?: EvictionLimits;
  /** Events a journey partition may keep beyond those kept when an open import began, while it holds the clock back (default: no cap; docs/history-lane.md). */
  historyMaxHeldEvents?: number;
  /** Stage rules, churn model and tunables (stages-options.ts). */
  stages: StagesPartitionOptions;
  /** Rule-based attribution per conversion (default DEFAULT_ATTRIBUTION_OPTIONS; null: off). */
  attribution?: AttributionOptions | null;
  /** Bounds the time-driven stage work of one tick per partition (STAGES_TICK_LIMIT). */
  tickLimit?: number;
  /** The journey step's state goes to the changelog at most this often per partition (SESSIONIZER_STATE_FLUSH_MS). */
  stateFlushIntervalMs?: number;
  /** How often a partition's held session versions go out (SESSIONIZER_SESSION_OUTPUT_MS; default 0: at once). */
  sessionOutputIntervalMs?: number;
  /** ...or once this many customers changed in a partition (SESSIONIZER_STATE_FLUSH_MAX_CUSTOMERS). */
  stateFlushMaxCustomers?: number;
  recentMessagesPerPartition?: number;
  stageOf: (tp: Touchpoint) => Stage | null;
  registry: Registry;
  /** Consumer-group session, heartbeat and rebalance timing (KAFKA_SESSION_TIMEOUT_MS, ...). */
  consumerTuning?: ConsumerTuning;
  /** Local copies of the changelog partitions (DATA_DIR/state), so a restart reads only the changelog's tail. */
  stateDir?: string;
  /** Where the identity graph lives (SESSIONIZER_IDENTITY_STORE; default memory; lmdb needs stateDir). */
  identityStore?: IdentityStoreOption;
  /** Forgotten ids kept (FORGOTTEN_IDS_MAX; README: Privacy). */
  maxForgottenIds?: number;
  logger: Logger;
  now?: () => number;
}

/**
 * identity table (global) → router (touchpoints → identified-touchpoints, re-keyed by customer) →
 * journey step (identified-touchpoints → customer-touchpoints, sessions, stage transitions, funnel
 * events, churn scores and alerts). Two consumer groups (the key changes between them), one producer.
 */
export function createSessionizerService(deps: SessionizerServiceDeps): Component {
  const now = deps.now ?? Date.now;
  const logger = deps.logger.child({ service: 'sessionizer' });
  const producer = createKafkaProducer(deps.kafka, { name: 'sessionizer' });
  // Outputs of every partition of both steps share produce requests (sends made while one is in
  // flight go together in the next); state and markers go through `producer` itself.
  const outputs = createLingeringProducer(
    createBundlingProducer(producer, { bundled: bundledTopics(deps.topics), partitionsOf: (topic) => partitionsOf(topic) }),
    { lingerMs: 0 },
  );
  // Ids a deletion forgot (README: Privacy), from two sources into one set: the forget markers in
  // identity-links, read in order with the links (the router drops the customer's touchpoints
  // before the links go), and the forgotten-ids topic, read whole before the router starts. The
  // topic is what a reprocessing with fresh state topics (README: Privacy, Reprocessing) still has.
  const forgotten = new ForgottenIds(deps.maxForgottenIds);
  const forgottenReader = createForgottenIdsReader({ kafka: deps.kafka, topic: deps.topics.forgottenIds, into: forgotten, logger });
  const table = createIdentityTable({ kafka: deps.kafka, topic: deps.topics.identityLinks, logger, stateDir: deps.stateDir, store: deps.identityStore, forgotten });
  const recordCodec = topicCodecs.identifiedTouchpoints();
  // Asked once, when first needed (the topics exist by then); a failure is asked again next time.
  const counted = new Map<string, Promise<number>>();
  const partitionsOf = (topic: string) => {
    let count = counted.get(topic);
    if (!count) {
      count = partitionCount(deps.kafka, topic);
      counted.set(topic, count);
      count.catch(() => counted.delete(topic));
    }
    return count;
  };
  // One admin round trip per input topic, shared by the partitions that ask while it is in
  // flight (an idle tick asks for every empty partition at once); never a cached, older answer.
  const offsetsInFlight = new Map<string, ReturnType<ReturnType<Kafka['admin']>['fetchTopicOffsets']>>();
  const inputOffsets = async (input: TopicPartition) => {
    let inFlight = offsetsInFlight.get(input.topic);
    if (!inFlight) {
      inFlight = (async () => {
        const admin = deps.kafka.admin();
        await admin.connect();
        return admin.fetchTopicOffsets(input.topic).finally(() => admin.disconnect());
      })().finally(() => offsetsInFlight.delete(input.topic));
      offsetsInFlight.set(input.topic, inFlight);
    }
    return (await inFlight).find((o) => o.partition === input.partition);
  };
  const recentMessagesPerPartition = deps.recentMessagesPerPartition ?? 200_000;
  const router = createIdentityRouter({
    topics: deps.topics,
    table,
    producer,
    outputs,
    touchpointCodec: topicCodecs.touchpoints(),
    recordCodec,
    linkOptions: deps.linkOptions,
    recentMessagesPerPartition,
    readRange: async (input, from, to, onMessage) => {
      const low = BigInt((await inputOffsets(input))?.low ?? '0');
      await readPartitionRange(deps.kafka, { topic: input.topic, partition: input.partition, from: from > low ? from : low, to }, onMessage);
    },
    openWindowCopy:
      deps.stateDir === undefined
        ? undefined
        : (input) => {
            const log = openLocalStateLog(join(deps.stateDir!, `${input.topic}-${input.partition}.retry-window.log`), logger);
            return log ? new RetryWindowCopy(log, recentMessagesPerPartition) : null;
          },
    outputPartitions: () => partitionsOf(deps.topics.identifiedTouchpoints),
    inputPartitions: () => partitionsOf(deps.topics.touchpoints),
    inputIsEmpty: async (input) => {
      const offsets = await inputOffsets(input);
      return offsets !== undefined && offsets.low === offsets.high;
    },
    registry: deps.registry,
    logger,
    now,
  });
  const duplicates = new Counter({ name: 'sessionizer_duplicates_total', help: 'Touchpoints dropped as already seen (messageId within the dedup window)', registers: [deps.registry] });
  const late = new Counter({ name: 'sessionizer_late_events_total', help: 'Touchpoints later than the grace period (kept, flagged late)', registers: [deps.registry] });
  const closed = new Counter({ name: 'sessionizer_sessions_closed_total', help: 'Sessions closed', registers: [deps.registry] });
  const dead = new Counter({ name: 'sessionizer_records_dead_lettered_total', help: 'Undecodable identified touchpoints', registers: [deps.registry] });
  const waitsExpired = new Counter({
    name: 'sessionizer_merge_waits_expired_total',
    help: 'Merge survivors released without the absorbed sessions (the transfer did not come within the wait limit)',
    registers: [deps.registry],
  });
  const waitsFull = new Counter({
    name: 'sessionizer_merge_waits_full_total',
    help: 'Merge survivors released early, without the absorbed sessions, because they held as many records or bytes as they may',
    registers: [deps.registry],
  });
  const boundHits = new Counter({
    name: 'sessionizer_customer_bound_hits_total',
    help: 'Times a customer reached a state bound: dedup_ids (earliest ids evicted), open_events (folded early), state_bytes (value trimmed)',
    labelNames: ['bound'],
    registers: [deps.registry],
  });
  const boundedCustomers = new Counter({
    name: 'sessionizer_bounded_customers_total',
    help: 'Customers flagged for reaching a state bound for the first time',
    registers: [deps.registry],
  });
  const oversized = new Counter({
    name: 'sessionizer_oversized_outputs_total',
    help: 'Outputs over the record limit, sent to the dead-letter topic instead',
    registers: [deps.registry],
  });
  const inputGaps = new Counter({
    name: 'sessionizer_input_gaps_total',
    help: 'Journey batches that began after the next input offset their state expected: read_again=true was read again from there, false was input the log no longer held (README: Effectively once)',
    labelNames: ['read_again'],
    registers: [deps.registry],
  });
  const splitFlushes = new Counter({
    name: 'sessionizer_state_split_flushes_total',
    help: 'State flushes too large for one append (30 MiB, or 768 KiB on a changelog that refused that), written as several appends with the applied-offset marker last',
    registers: [deps.registry],
  });
  const customersEvicted = new Counter({
    name: 'sessionizer_customers_evicted_total',
    help: 'Customers evicted after SESSIONIZER_EVICT_IDLE_DAYS of event time without an event (tombstoned), by how: a round over idle customers, or their own later event',
    labelNames: ['how'],
    registers: [deps.registry],
  });
  const ledgerEvicted = new Counter({
    name: 'sessionizer_merge_ledger_evicted_total',
    help: 'Merge-ledger entries (fwd:, imp:) evicted SESSIONIZER_EVICT_MERGE_LEDGER_DAYS of event time after their merge (tombstoned)',
    registers: [deps.registry],
  });
  const touchpoints = new Counter({ name: 'stages_touchpoints_total', help: 'Touchpoints applied to journeys', registers: [deps.registry] });
  const transitions = new Counter({ name: 'stages_transitions_total', help: 'Stage transitions emitted', registers: [deps.registry] });
  const churnAlerts = new Counter({ name: 'stages_churn_threshold_crossings_total', help: 'Churn scores that crossed the threshold', registers: [deps.registry] });
  const idleTicks = new Counter({
    name: 'sessionizer_idle_ticks_total',
    help: 'Time-driven passes over caught-up partitions (where the wall clock may move idle live sources)',
    registers: [deps.registry],
  });
  const attributionCorrections = new Counter({
    name: 'sessionizer_attribution_corrections_total',
    help: 'Conversions attributed again after a late touch or an identity merge (a new version of their rows)',
    registers: [deps.registry],
  });
  const attributionBounded = new Counter({
    name: 'sessionizer_attribution_bound_hits_total',
    help: 'Touches a customer dropped at the attribution bound (the earliest), by what: touches, and conversions no longer corrected',
    labelNames: ['what'],
    registers: [deps.registry],
  });
  const journeyForgottenDrops = new Counter({
    name: 'sessionizer_journey_forgotten_records_dropped_total',
    help: 'Touchpoint records of forgotten ids the journey step dropped (a re-read of identified-touchpoints; README: Privacy)',
    registers: [deps.registry],
  });
  const historyDemoted = new Counter({
    name: 'sessionizer_history_imports_demoted_total',
    help: 'Imports that stopped holding a journey partition\'s clock: it kept more events than SESSIONIZER_HISTORY_MAX_HELD_EVENTS (once per import and partition; docs/history-lane.md)',
    registers: [deps.registry],
  });
  const demotedTouchpoints = new Counter({
    name: 'sessionizer_history_demoted_touchpoints_total',
    help: 'Touchpoints of demoted imports, processed against the live clock: late (kept, flagged late) or placed in a session still open',
    labelNames: ['late'],
    registers: [deps.registry],
  });
  const restoreMs = new Gauge({ name: 'sessionizer_last_restore_ms', help: 'Duration of the last state restore', registers: [deps.registry] });
  const restores = new Counter({
    name: 'sessionizer_restores_total',
    help: 'Partition state restores, by base: a local copy plus the changelog tail, or the whole changelog',
    labelNames: ['base'],
    registers: [deps.registry],
  });
  const restoredRecords = new Counter({ name: 'sessionizer_restored_changelog_records_total', help: 'Changelog records read from Kafka by restores', registers: [deps.registry] });
  const config = sessionizerConfig(deps.stageOf, deps.sessions);
  const codecs = {
    record: recordCodec,
    session: topicCodecs.sessions(),
    transition: topicCodecs.stageTransitions(),
    funnel: topicCodecs.funnelEvents(),
    churn: topicCodecs.churnScores(),
    attribution: topicCodecs.attribution(),
  };
  const stateful = createStatefulHandler({
    kafka: deps.kafka,
    producer,
    outputs,
    stateFlushIntervalMs: deps.stateFlushIntervalMs,
    maxChangedKeys: deps.stateFlushMaxCustomers,
    changelogTopic: deps.topics.journeyChangelog,
    createProcessor: async (tp) =>
      createJourneyProcessor({
        sourcePartitions: await partitionsOf(deps.topics.touchpoints),
        historyMaxHeldEvents: deps.historyMaxHeldEvents,
        onHistoryDemoted: (demotion) =>
          logger.warn(
            { partition: tp.partition, ...demotion, importTime: isoOrNull(demotion.importTime), liveTime: isoOrNull(demotion.liveTime) },
            'an import held more kept events than SESSIONIZER_HISTORY_MAX_HELD_EVENTS: demoted, its remaining events are processed as late (docs/history-lane.md)',
          ),
        forgotten,
        mergeWait: deps.mergeWait ?? mergeWaitLimits(),
        bounds: deps.bounds,
        eviction: deps.eviction,
        onFlagged: (customerId, bound) => logger.warn({ customerId, bound }, 'customer reached a state bound: flagged (README: Known limits)'),
        topics: deps.topics,
        codecs,
        sessions: config,
        stages: deps.stages,
        attribution: deps.attribution === undefined ? DEFAULT_ATTRIBUTION_OPTIONS : deps.attribution,
        attributionCounters: {
          corrected: (n) => attributionCorrections.inc(n),
          bounded: (touches, conversions) => {
            attributionBounded.inc({ what: 'touches' }, touches);
            if (conversions > 0) attributionBounded.inc({ what: 'conversions' }, conversions);
          },
        },
        tickLimit: deps.tickLimit ?? 5_000,
        sessionOutputIntervalMs: deps.sessionOutputIntervalMs,
        maxEventLagMs: deps.maxEventLagMs,
        counters: {
          duplicates: () => duplicates.inc(),
          late: () => late.inc(),
          sessionsClosed: (n) => closed.inc(n),
          touchpoints: () => touchpoints.inc(),
          transitions: (n) => transitions.inc(n),
          churnAlerts: (n) => churnAlerts.inc(n),
          deadLetter: () => dead.inc(),
          mergeWaitsExpired: (n) => waitsExpired.inc(n),
          mergeWaitsFull: () => waitsFull.inc(),
          bounded: (bound, _n, first) => {
            boundHits.inc({ bound });
            if (first) boundedCustomers.inc();
          },
          oversizedOutput: () => oversized.inc(),
          idleTick: () => idleTicks.inc(),
          forgottenDropped: () => journeyForgottenDrops.inc(),
          historyDemoted: () => historyDemoted.inc(),
          demotedTouchpoint: (isLate) => demotedTouchpoints.inc({ late: String(isLate) }),
          customersEvicted: (how, n) => customersEvicted.inc({ how }, n),
          mergeLedgerEvicted: (n) => ledgerEvicted.inc(n),
        },
        now,
      }),
    now,
    logger,
    localStateDir: deps.stateDir,
    onInputGap: (_tp, gap) => inputGaps.inc({ read_again: String(gap.readAgain) }),
    onSplitFlush: (tp, stats) => {
      splitFlushes.inc();
      logger.info({ tp, ...stats }, 'state flush written as several appends');
    },
    onRestored: (_tp, stats) => {
      restoreMs.set(stats.ms);
      restores.inc({ base: stats.fromLocalCopy ? 'local-copy' : 'changelog' });
      restoredRecords.inc(stats.records);
      // Where the memory is once a restore is applied (after the last of a round, past the one full
      // GC): what the state bench reads to tell the stores' heap from the rest of the RSS.
      const m = process.memoryUsage();
      const spaces = getHeapSpaceStatistics();
      const space = (name: string) => spaces.find((s) => s.space_name === name);
      const mb = (bytes = 0) => Math.round(bytes / 2 ** 20);
      logger.info(
        { rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), heapTotalMb: mb(m.heapTotal), externalMb: mb(m.external), arrayBuffersMb: mb(m.arrayBuffers), newSpaceMb: mb(space('new_space')?.space_size), oldSpaceMb: mb(space('old_space')?.space_size) },
        'memory after restore',
      );
    },
  });
  // The router returns durable points behind what it routed (router-pipeline.ts): after a failed
  // round its partitions are read again from there. It reads the live lane and the history lane
  // (docs/history-lane.md), each partition an event-time source of its own.
  const routerConsumer = createPartitionedConsumer(
    deps.kafka,
    router,
    { name: 'sessionizer-router', groupId: `${deps.groupId}-router`, topics: [deps.topics.touchpoints, deps.topics.touchpointsHistory], rewindOnFailure: true, tuning: deps.consumerTuning },
    logger,
  );
  const sessionsConsumer = createPartitionedConsumer(
    deps.kafka,
    stateful,
    { name: 'sessionizer-sessions', groupId: `${deps.groupId}-sessions`, topics: [deps.topics.identifiedTouchpoints], idleIntervalMs: 1_000, rewindOnFailure: true, tuning: deps.consumerTuning },
    logger,
  );
  return composeComponents('sessionizer', [producer, forgottenReader, table, sessionsConsumer, routerConsumer]);
}
