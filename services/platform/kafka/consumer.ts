import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../logging/logger.js';
import type { Component, Health } from '../runtime/component.js';
import { createCommitSchedule } from './commit-schedule.js';
import { defaultConsumerTuning, type ConsumerTuning } from './consumer-tuning.js';
import { useStaticMembership } from './static-membership.js';
import { relaunchAfterPause } from '../retry/relaunch.js';

/** Between attempts to bring a crashed consumer back. */
const RELAUNCH_PAUSE_MS = 2_000;

export interface PartitionBatch {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
  /** The partition's log end offset when this batch was fetched (for lag). */
  highWatermark: string;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** An offset to commit (the next offset to read) with optional commit metadata. */
export interface CommitPoint {
  offset: string;
  metadata?: string | null;
}

export interface CommittedOffset {
  /** '-1' when the group has no commit for the partition. */
  offset: string;
  metadata: string | null;
}

/**
 * Thrown by a handler whose state expects input from before the batch it was given (a state behind
 * what the group committed): the consumer reads the partition again from `offset`, which the
 * handler vouches for as durable, and goes on without a crash.
 */
export class ReadAgainFrom extends Error {
  constructor(readonly offset: string) {
    super(`read the partition again from offset ${offset}`);
    this.name = 'ReadAgainFrom';
  }
}

export interface PartitionControl {
  heartbeat(): Promise<void>;
  /** Commits now, inside the batch (e.g. an intent record before a side effect). */
  commit(point: CommitPoint): Promise<void>;
  /**
   * Everything before `point` is durable, inside a long batch: committed on the commit schedule
   * (at most once a second), so progress shows, and a crash replays less, before the batch ends.
   */
  progress(point: CommitPoint): Promise<void>;
}

/**
 * What a service plugs into the consumer. Invariants the consumer guarantees:
 * - `onAssigned` completes (state restored) before the first `handleBatch` of that partition;
 * - batches of one partition are handled one at a time, in offset order;
 * - the offset returned by `handleBatch` is committed only after it resolves, so a handler returns
 *   an offset only once every effect of the messages before it is durable. It may be committed
 *   later than that (at most `commitIntervalMs` later, or never if the process dies first), so a
 *   point that must be durable before a side effect (an intent) goes through `control.commit`,
 *   which commits at once and supersedes any point kept back.
 */
export interface PartitionHandler {
  onAssigned?(tp: TopicPartition, committed: CommittedOffset): Promise<void>;
  onRevoked?(tp: TopicPartition): Promise<void>;
  /** Returns the next offset to commit for this partition (last handled + 1), or null to commit nothing. */
  handleBatch(batch: PartitionBatch, control: PartitionControl): Promise<CommitPoint | null>;
  /** Called by a timer between batches (time-based flushes, silence timers) and once before a stop. */
  onIdle?(tp: TopicPartition, control: PartitionControl): Promise<CommitPoint | null>;
  /** Called once per partition before a stop: flush everything held, return what is durable. */
  flush?(tp: TopicPartition, control: PartitionControl): Promise<CommitPoint | null>;
}

export interface ConsumerOptions {
  name: string;
  groupId: string;
  topics: string[];
  fromBeginning?: boolean;
  /** Group timing and fetch sizes; each defaults to `defaultConsumerTuning`. */
  tuning?: Partial<ConsumerTuning>;
  idleIntervalMs?: number;
  /**
   * Handled offsets are committed at most this often per partition (the newest point; at once on
   * a stop). 0 commits after every batch. Defaults to 1,000 ms.
   */
  commitIntervalMs?: number;
  /** Reported unhealthy when lag > 0 and no batch completed for this long (a stuck consumer). */
  stuckAfterMs?: number;
  /**
   * After a failed batch or idle tick, read the partition again from the newest point the handler
   * called durable, instead of kafkajs' retry from after the last fetched batch. For handlers that
   * make several batches durable at once (stateful steps flushing state on an interval): their
   * in-memory work since that point is gone with the failure, and the input must be read again.
   */
  rewindOnFailure?: boolean;
  now?: () => number;
}

const key = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;
const parseKey = (k: string): TopicPartition => ({ topic: k.slice(0, k.lastIndexOf(':')), partition: Number(k.slice(k.lastIndexOf(':') + 1)) });

/**
 * A consumer-group member with manual commits and per-partition lifecycle hooks. kafkajs has no
 * rebalance listener, so assignment changes are read from GROUP_JOIN events: partitions that left
 * the assignment are revoked there, new ones are restored lazily before their first batch.
 */
export function createPartitionedConsumer(
  kafka: Kafka,
  handler: PartitionHandler,
  options: ConsumerOptions,
  logger: Logger,
): Component & { assigned(): TopicPartition[]; lag(): number } {
  const now = options.now ?? Date.now;
  const log = logger.child({ component: `${options.name}-consumer` });
  let consumer: Consumer | undefined;
  const ready = new Set<string>();
  const lags = new Map<string, number>();
  /** When the batch now in the handler started, per partition. */
  const inHandlerSince = new Map<string, number>();
  const chains = new Map<string, Promise<unknown>>();
  /** Per partition, the newest point known durable (handed back by the handler, or committed at assignment). */
  const durable = new Map<string, string>();
  let lastProgress = now();
  let crashed: string | undefined;
  let lastCrash: string | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let running = false;
  const tuning: ConsumerTuning = { ...defaultConsumerTuning, ...options.tuning };
  const schedule = createCommitSchedule(options.commitIntervalMs ?? 1_000, now);

  /** Serializes work per partition: batches and idle ticks never overlap. */
  const serialized = <T>(tp: TopicPartition, work: () => Promise<T>): Promise<T> => {
    const k = key(tp);
    const next = (chains.get(k) ?? Promise.resolve()).then(work, work);
    chains.set(k, next.catch(() => undefined));
    return next;
  };

  /**
   * Commits through the consumer that handed out the work: a batch still running on a consumer that
   * crashed must not commit through its successor (its partitions may be restored elsewhere by now).
   */
  const commit = async (via: Consumer | undefined, tp: TopicPartition, point: CommitPoint | null) => {
    if (point === null || !via) return;
    await via.commitOffsets([{ topic: tp.topic, partition: tp.partition, offset: point.offset, metadata: point.metadata ?? null }]);
  };
  const noteDurable = (tp: TopicPartition, point: CommitPoint | null) => {
    if (point !== null) durable.set(key(tp), point.offset);
  };
  /**
   * Where kafkajs fetches this partition next: the newest durable point (see `rewindOnFailure`).
   * With no durable point yet, offset 0 (kafkajs resets an out-of-range offset to the earliest).
   */
  const rewind = (via: Consumer | undefined, tp: TopicPartition) => {
    if (!options.rewindOnFailure || !via) return;
    const offset = durable.get(key(tp)) ?? '0';
    try {
      via.seek({ topic: tp.topic, partition: tp.partition, offset });
      log.warn({ tp, offset }, 'partition failed; reading again from its durable point');
    } catch (err) {
      log.warn({ err, tp }, 'rewind failed');
    }
  };
  const controlFor = (via: Consumer | undefined, tp: TopicPartition, heartbeat: () => Promise<void>): PartitionControl => ({
    heartbeat,
    commit: (point) => {
      noteDurable(tp, point);
      schedule.committedDirectly(key(tp));
      return commit(via, tp, point);
    },
    progress: (point) => {
      noteDurable(tp, point);
      return commit(via, tp, schedule.offer(key(tp), point));
    },
  });
  const noHeartbeat = async () => {};

  /**
   * Heartbeats on a timer until the returned function is called: kafkajs heartbeats only between
   * fetches or when a handler asks, so a restore or a long batch would otherwise outlast the short
   * session timeout. kafkajs sends at most one heartbeat per interval; an error (a rebalance has
   * begun) is the batch's to meet, not the timer's.
   */
  const keepalive = (heartbeat: () => Promise<void>): (() => void) => {
    const timer = setInterval(() => void heartbeat().catch(() => undefined), tuning.heartbeatIntervalMs);
    return () => clearInterval(timer);
  };

  const committedOffset = async (tp: TopicPartition): Promise<CommittedOffset> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [topic] = await admin.fetchOffsets({ groupId: options.groupId, topics: [tp.topic] });
      const p = topic?.partitions.find((x) => x.partition === tp.partition);
      return { offset: p?.offset ?? '-1', metadata: p?.metadata ?? null };
    } finally {
      await admin.disconnect();
    }
  };

  const ensureAssigned = async (tp: TopicPartition) => {
    if (ready.has(key(tp))) return;
    const committed = await committedOffset(tp);
    if (committed.offset !== '-1') durable.set(key(tp), committed.offset);
    else durable.delete(key(tp));
    log.debug({ tp, committed }, 'partition assigned, preparing');
    await handler.onAssigned?.(tp, committed);
    ready.add(key(tp));
    log.debug({ tp }, 'partition ready');
  };

  /**
   * After a crash, the handler's per-partition state may be ahead of the committed offsets (and a
   * restarted kafkajs consumer re-reads from them): forget every partition, so each is restored
   * from its durable state before its next batch. A batch still running on the crashed consumer
   * keeps its place in the partition's chain: the restore waits for it, so it never reads the
   * durable state while that batch is still writing to it (the batch can no longer commit, see
   * `commit`; its sends fail or finish once the broker answers).
   */
  const forgetPartitions = () => {
    const tps = [...ready].map(parseKey);
    for (const k of ready) {
      schedule.forget(k);
      durable.delete(k);
    }
    ready.clear();
    lags.clear();
    inHandlerSince.clear();
    for (const tp of tps) Promise.resolve(handler.onRevoked?.(tp)).catch((err: unknown) => log.warn({ err, tp }, 'revoke after crash failed'));
  };

  /** Creates, connects and runs a kafkajs consumer (again, after a crash kafkajs will not restart). */
  const launch = async (): Promise<void> => {
    if (tuning.groupInstanceId !== undefined) useStaticMembership(options.groupId, tuning.groupInstanceId);
    const self = kafka.consumer({
      groupId: options.groupId,
      // Short, so a crashed member is noticed in seconds; a live one heartbeats on a timer while a
      // batch or a restore runs (`keepalive`), so a long batch does not cost it its place.
      sessionTimeout: tuning.sessionTimeoutMs,
      heartbeatInterval: tuning.heartbeatIntervalMs,
      rebalanceTimeout: tuning.rebalanceTimeoutMs,
      minBytes: tuning.fetchMinBytes,
      maxWaitTimeInMs: tuning.fetchMaxWaitMs,
      allowAutoTopicCreation: false,
      retry: {
        retries: Number.MAX_SAFE_INTEGER,
        initialRetryTime: 200,
        maxRetryTime: 5_000,
        // For errors kafkajs calls retriable, always restart; the others are handled by relaunch().
        restartOnFailure: async () => true,
      },
    });
    consumer = self;
    self.on(self.events.GROUP_JOIN, (event) => {
      const assignment = event.payload.memberAssignment as Record<string, number[]>;
      const now = new Set<string>();
      for (const [topic, partitions] of Object.entries(assignment)) for (const p of partitions) now.add(`${topic}:${p}`);
      for (const k of [...ready]) {
        if (now.has(k)) continue;
        const tp = parseKey(k);
        ready.delete(k);
        schedule.forget(k);
        durable.delete(k);
        lags.delete(k);
        void serialized(tp, () => handler.onRevoked?.(tp) ?? Promise.resolve());
      }
      log.info({ assignment }, 'partitions assigned');
    });
    self.on(self.events.CRASH, (event) => {
      // kafkajs restarts the consumer itself after errors it calls retriable (an eviction from the
      // group); after the others ("no group coordinator" during a broker restart) it stays down,
      // so we launch a fresh one. Either way the partitions' state starts again from what is durable.
      lastCrash = String(event.payload.error?.message ?? 'crash');
      log.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
      if (consumer !== self) return;
      forgetPartitions();
      if (!event.payload.restart) {
        crashed = lastCrash;
        void relaunch();
      }
    });
    await self.connect();
    await self.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning ?? true });
    running = true;
    await self.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale()) return;
        const tp = { topic: batch.topic, partition: batch.partition };
        const stopKeepalive = keepalive(heartbeat);
        await serialized(tp, async () => {
          await ensureAssigned(tp);
          // Lag as of now, before the handler runs: a handler that never returns must still show
          // lag > 0 (with no progress), or health() would call a hung consumer healthy.
          const first = batch.messages[0];
          if (first) lags.set(key(tp), Math.max(0, Number(batch.highWatermark) - Number(first.offset)));
          inHandlerSince.set(key(tp), now());
          // A batch fetched before a rewind of its partition is no longer the next one.
          if (isStale()) return;
          let toCommit: CommitPoint | null;
          try {
            toCommit = await handler.handleBatch(
              { topic: batch.topic, partition: batch.partition, messages: batch.messages, highWatermark: batch.highWatermark },
              controlFor(self, tp, heartbeat),
            );
          } catch (error) {
            if (error instanceof ReadAgainFrom && options.rewindOnFailure) {
              // The handler's state is durable up to there, whatever the group committed.
              durable.set(key(tp), error.offset);
              rewind(self, tp);
              return;
            }
            rewind(self, tp);
            throw error;
          } finally {
            inHandlerSince.delete(key(tp));
          }
          noteDurable(tp, toCommit);
          // Every fetched message is resolved (it is the handler's now); only `toCommit` is durable.
          const last = batch.messages[batch.messages.length - 1];
          if (last) resolveOffset(last.offset);
          await commit(self, tp, schedule.offer(key(tp), toCommit));
          lags.set(key(tp), Math.max(0, Number(batch.highWatermark) - Number(last ? last.offset : batch.highWatermark) - 1));
          lastProgress = now();
          crashed = undefined;
        }).finally(stopKeepalive);
        await heartbeat();
      },
    });
  };

  /**
   * kafkajs restarts a crashed consumer only for errors it calls retriable; "no group coordinator"
   * during a broker restart is not one. A pipeline service must come back by itself: drop the
   * A failed launch (the broker still down) is retried after the same pause.
   */
  const relaunch = async (): Promise<void> => {
    const launched = await relaunchAfterPause(launch, {
      pauseMs: RELAUNCH_PAUSE_MS,
      stopped: () => !running,
      onFailure: (error) => log.error({ err: error }, 'relaunch failed; retrying'),
    });
    if (!launched) return;
    crashed = undefined;
    log.warn('consumer relaunched after a fatal crash');
  };

  return {
    name: `${options.name}-consumer`,
    async start() {
      await launch();
      // Idle ticks: the handler's time-driven work, and offsets kept back by the commit schedule.
      idleTimer = setInterval(() => {
        if (!running) return;
        const via = consumer;
        for (const k of ready) {
          const tp = parseKey(k);
          void serialized(tp, async () => {
            if (!ready.has(k)) return;
            let idle: CommitPoint | null;
            try {
              idle = handler.onIdle ? await handler.onIdle(tp, controlFor(via, tp, noHeartbeat)) : null;
            } catch (error) {
              rewind(via, tp);
              throw error;
            }
            noteDurable(tp, idle);
            await commit(via, tp, idle !== null ? schedule.offer(k, idle) : schedule.due(k));
          }).catch((err: unknown) => log.warn({ err, tp }, 'idle tick failed'));
        }
      }, options.idleIntervalMs ?? 250);
    },
    async stop() {
      // Shutdown order: stop consuming (pause, let in-flight batches finish) → the handler flushes
      // its sinks and returns what is durable → commit → leave the group → close. kafkajs refuses
      // commits once stopped, so everything durable is committed before consumer.stop().
      running = false;
      if (idleTimer) clearInterval(idleTimer);
      if (consumer) {
        const via = consumer;
        try {
          via.pause(options.topics.map((topic) => ({ topic })));
        } catch (err) {
          // A consumer that crashed (and awaits its relaunch) has nothing to pause.
          log.warn({ err }, 'pause on stop failed');
        }
        for (const k of [...ready]) {
          const tp = parseKey(k);
          await serialized(tp, async () => {
            try {
              const flush = handler.flush ?? handler.onIdle;
              const flushed = (await flush?.call(handler, tp, controlFor(via, tp, noHeartbeat))) ?? null;
              // What the flush made durable, else the newest handled point the schedule kept back.
              const kept = schedule.take(key(tp));
              await commit(via, tp, flushed ?? kept);
            } catch (err) {
              log.error({ err, tp }, 'final flush failed; uncommitted messages will be re-read');
            }
            await handler.onRevoked?.(tp);
          });
        }
        ready.clear();
        await via.stop().catch((err: unknown) => log.warn({ err }, 'consumer stop failed'));
        await via.disconnect();
      }
      consumer = undefined;
    },
    health(): Health {
      const totalLag = [...lags.values()].reduce((a, b) => a + b, 0);
      const idleFor = now() - lastProgress;
      // One hung partition is stuck even while partitions on other brokers keep completing batches.
      const inBatchFor = inHandlerSince.size === 0 ? 0 : now() - Math.min(...inHandlerSince.values());
      const stuckAfter = options.stuckAfterMs ?? 60_000;
      const stuck = totalLag > 0 && (idleFor > stuckAfter || inBatchFor > stuckAfter);
      return {
        ok: running && !stuck && crashed === undefined,
        details: { running, lag: totalLag, msSinceProgress: idleFor, msInBatch: inBatchFor, stuck, crashed, lastCrash, partitions: ready.size },
      };
    },
    assigned: () => [...ready].map(parseKey),
    lag: () => [...lags.values()].reduce((a, b) => a + b, 0),
  };
}
