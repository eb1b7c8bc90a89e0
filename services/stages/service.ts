import type { Kafka } from 'kafkajs';
import { Counter, Gauge, type Registry } from 'prom-client';
import { topicCodecs, type Topics } from '../../schemas/topics.js';
import { createPartitionedConsumer } from '../platform/kafka/consumer.js';
import type { ConsumerTuning } from '../platform/kafka/consumer-tuning.js';
import { createKafkaProducer } from '../platform/kafka/producer.js';
import type { Logger } from '../platform/logging/logger.js';
import { composeComponents, type Component } from '../platform/runtime/component.js';
import { mergeWaitLimits, type MergeWaitLimits } from '../platform/streams/merge-barrier.js';
import { createStatefulHandler } from '../platform/streams/stateful-handler.js';
import type { StagesPartitionOptions } from './core/processor.js';
import { createStagesProcessor } from './stages-processor.js';

export interface StagesServiceDeps {
  kafka: Kafka;
  topics: Topics;
  groupId: string;
  options: StagesPartitionOptions;
  tickLimit: number;
  /** How long and for how many records a merge survivor waits for the absorbed state (default 5 min, 10,000). */
  mergeWait?: MergeWaitLimits;
  registry: Registry;
  /** Consumer-group session, heartbeat and rebalance timing (KAFKA_SESSION_TIMEOUT_MS, ...). */
  consumerTuning?: ConsumerTuning;
  /** Local copies of the changelog partitions (DATA_DIR/state), so a restart reads only the changelog's tail. */
  stateDir?: string;
  logger: Logger;
  now?: () => number;
  idleIntervalMs?: number;
}

/** customer-touchpoints → stage transitions, funnel events, churn scores (+ churn alerts). */
export function createStagesService(deps: StagesServiceDeps): Component {
  const now = deps.now ?? Date.now;
  const logger = deps.logger.child({ service: 'stages' });
  const producer = createKafkaProducer(deps.kafka, { name: 'stages' });
  const touchpoints = new Counter({ name: 'stages_touchpoints_total', help: 'Touchpoints applied to journeys', registers: [deps.registry] });
  const transitions = new Counter({ name: 'stages_transitions_total', help: 'Stage transitions emitted', registers: [deps.registry] });
  const churnAlerts = new Counter({ name: 'stages_churn_threshold_crossings_total', help: 'Churn scores that crossed the threshold', registers: [deps.registry] });
  const repeats = new Counter({ name: 'stages_repeated_touchpoints_total', help: 'Touchpoints the sessionizer sent again after a crash (skipped)', registers: [deps.registry] });
  const dead = new Counter({ name: 'stages_dead_letters_total', help: 'Undecodable records', registers: [deps.registry] });
  const waitsExpired = new Counter({
    name: 'stages_merge_waits_expired_total',
    help: 'Merge survivors released without the absorbed journey (the transfer did not come within the wait limit)',
    registers: [deps.registry],
  });
  const restoreMs = new Gauge({ name: 'stages_last_restore_ms', help: 'Duration of the last state restore', registers: [deps.registry] });
  const restores = new Counter({
    name: 'stages_restores_total',
    help: 'Partition state restores, by base: a local copy plus the changelog tail, or the whole changelog',
    labelNames: ['base'],
    registers: [deps.registry],
  });
  const restoredRecords = new Counter({ name: 'stages_restored_changelog_records_total', help: 'Changelog records read from Kafka by restores', registers: [deps.registry] });
  const codecs = {
    record: topicCodecs.customerTouchpoints(),
    transition: topicCodecs.stageTransitions(),
    funnel: topicCodecs.funnelEvents(),
    churn: topicCodecs.churnScores(),
  };
  const handler = createStatefulHandler({
    kafka: deps.kafka,
    producer,
    changelogTopic: deps.topics.stagesChangelog,
    createProcessor: () =>
      createStagesProcessor({
        topics: deps.topics,
        codecs,
        options: deps.options,
        tickLimit: deps.tickLimit,
        mergeWait: deps.mergeWait ?? mergeWaitLimits(),
        counters: {
          touchpoints: () => touchpoints.inc(),
          repeats: () => repeats.inc(),
          transitions: (n) => transitions.inc(n),
          churnAlerts: (n) => churnAlerts.inc(n),
          deadLetter: () => dead.inc(),
          mergeWaitsExpired: (n) => waitsExpired.inc(n),
        },
        now,
      }),
    now,
    logger,
    localStateDir: deps.stateDir,
    onRestored: (_tp, stats) => {
      restoreMs.set(stats.ms);
      restores.inc({ base: stats.fromLocalCopy ? 'local-copy' : 'changelog' });
      restoredRecords.inc(stats.records);
    },
  });
  const consumer = createPartitionedConsumer(
    deps.kafka,
    handler,
    { name: 'stages', groupId: deps.groupId, topics: [deps.topics.customerTouchpoints], idleIntervalMs: deps.idleIntervalMs ?? 1_000, tuning: deps.consumerTuning },
    logger,
  );
  return composeComponents('stages', [producer, consumer]);
}
