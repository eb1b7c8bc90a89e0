import type { KafkaMessage } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Codec } from '../../schemas/codec.js';
import type { DeadLetter } from '../../schemas/journey.js';
import type { CommitPoint, PartitionBatch, PartitionControl, PartitionHandler, TopicPartition } from '../platform/kafka/consumer.js';
import type { RecordProducer } from '../platform/kafka/producer.js';
import type { Logger } from '../platform/logging/logger.js';
import type { BlockInserter } from './clickhouse-inserter.js';
import { blockToken, cutBlock, intentMetadata, parseIntent } from './core/block-plan.js';

/** How one topic's records become rows of one table. */
export interface TopicRoute {
  topic: string;
  table: string;
  decode(bytes: Buffer): unknown;
  /** null: a control record with nothing to store (it is committed like any other). */
  toRow(value: unknown): Record<string, unknown> | null;
}

export interface WriterHandlerDeps {
  routes: TopicRoute[];
  inserter: BlockInserter;
  producer: RecordProducer;
  deadLetterTopic: string;
  deadLetterCodec: Codec<DeadLetter>;
  /** Flush a partition's buffer at this many rows... */
  maxBufferRows: number;
  /** ...or when its oldest row has waited this long (freshness before throughput). */
  flushIntervalMs: number;
  now: () => number;
  registry: Registry;
  logger: Logger;
}

interface Entry {
  offset: bigint;
  row?: Record<string, unknown>;
  dead?: DeadLetter;
}

interface PartitionState {
  route: TopicRoute;
  entries: Entry[];
  oldestAt: number;
  /** The end of an interrupted block that must be re-inserted with the same boundaries. */
  forcedEnd: bigint | null;
}

/**
 * Kafka → ClickHouse, per topic-partition: buffer decoded rows, cut deterministic offset-range
 * blocks, record an intent, insert with a token derived from the range, dead-letter what can never
 * be inserted, and only then report the next offset as committable.
 */
export function createWriterHandler(deps: WriterHandlerDeps): PartitionHandler & { bufferedRows(): number } {
  const routes = new Map(deps.routes.map((r) => [r.topic, r]));
  const partitions = new Map<string, PartitionState>();
  const key = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;

  const inserted = new Counter({ name: 'writer_rows_inserted_total', help: 'Rows acknowledged by ClickHouse', labelNames: ['table'], registers: [deps.registry] });
  const deadLettered = new Counter({ name: 'writer_dead_letters_total', help: 'Records sent to the dead-letter topic', labelNames: ['topic', 'reason'], registers: [deps.registry] });
  const insertSeconds = new Histogram({ name: 'writer_insert_duration_seconds', help: 'Block insert latency including retries', labelNames: ['table'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [deps.registry] });
  const buffered = new Gauge({ name: 'writer_buffered_rows', help: 'Rows waiting for their block', registers: [deps.registry] });

  const deadLetter = (topic: string, message: KafkaMessage, reason: string): DeadLetter => ({
    sourceTopic: topic,
    stage: 'writer',
    reason,
    at: deps.now(),
    key: message.key?.toString('utf8') ?? null,
    payload: message.value?.toString('base64') ?? '',
  });

  const decodeMessage = (route: TopicRoute, message: KafkaMessage): Entry => {
    const offset = BigInt(message.offset);
    if (!message.value) return { offset, dead: deadLetter(route.topic, message, 'empty message value') };
    try {
      const row = route.toRow(route.decode(message.value));
      return row === null ? { offset } : { offset, row };
    } catch (error) {
      return { offset, dead: deadLetter(route.topic, message, `undecodable: ${(error as Error).message}`) };
    }
  };

  /** Writes one block if one can be cut; returns the next committable offset or null. */
  const flushOne = async (tp: TopicPartition, state: PartitionState, control: PartitionControl): Promise<CommitPoint | null> => {
    const first = state.entries[0]?.offset;
    const lastBuffered = state.entries[state.entries.length - 1]?.offset;
    if (first === undefined || lastBuffered === undefined) return null;
    const cut = cutBlock(first, lastBuffered, state.forcedEnd);
    if (cut.kind === 'wait') return null;
    const count = state.entries.findIndex((e) => e.offset > cut.end);
    const block = count === -1 ? state.entries : state.entries.slice(0, count);
    const rows = block.flatMap((e) => (e.row ? [e.row] : []));
    const dead = block.flatMap((e) => (e.dead ? [e.dead] : []));

    // The intent makes this block's boundaries survive a crash (see core/block-plan.ts).
    await control.commit({ offset: first.toString(), metadata: intentMetadata(cut.end.toString()) });
    const started = deps.now();
    const poison = rows.length > 0 ? await deps.inserter.insert(state.route.table, rows, blockToken(tp.topic, tp.partition, first, cut.end)) : [];
    insertSeconds.labels(state.route.table).observe((deps.now() - started) / 1000);
    inserted.labels(state.route.table).inc(rows.length - poison.length);
    for (const p of poison) {
      dead.push({ sourceTopic: tp.topic, stage: 'writer', reason: p.reason, at: deps.now(), key: null, payload: Buffer.from(JSON.stringify(p.row)).toString('base64') });
    }
    if (dead.length > 0) {
      if (tp.topic === deps.deadLetterTopic) {
        // A dead letter that cannot be stored is not re-queued (that would loop): it stays in the topic.
        deps.logger.error({ count: dead.length, reasons: dead.map((d) => d.reason).slice(0, 5) }, 'dead letters not storable in ClickHouse');
      } else {
        await deps.producer.send(
          dead.map((d, i) => ({ topic: deps.deadLetterTopic, key: `${tp.topic}:${tp.partition}:${first}-${cut.end}:${i}`, value: deps.deadLetterCodec.encode(d) })),
        );
      }
      for (const d of dead) deadLettered.labels(tp.topic, d.reason.split(':')[0] ?? 'unknown').inc();
    }
    state.entries = count === -1 ? [] : state.entries.slice(count);
    state.oldestAt = deps.now();
    if (state.forcedEnd !== null && cut.end >= state.forcedEnd) state.forcedEnd = null;
    buffered.dec(block.length);
    return { offset: (cut.end + 1n).toString(), metadata: null };
  };

  const flushWhile = async (tp: TopicPartition, state: PartitionState, control: PartitionControl, due: () => boolean) => {
    let last: CommitPoint | null = null;
    while (state.entries.length > 0 && due()) {
      const point = await flushOne(tp, state, control);
      if (point === null) break;
      last = point;
      await control.heartbeat(); // inserts can be slow under load: stay a live group member
    }
    return last;
  };

  return {
    async onAssigned(tp, committed) {
      const route = routes.get(tp.topic);
      if (!route) throw new Error(`writer has no route for topic ${tp.topic}`);
      const forcedEnd = parseIntent(committed.metadata);
      if (forcedEnd !== null) deps.logger.info({ tp, committed: committed.offset, forcedEnd: forcedEnd.toString() }, 'replaying an interrupted block');
      partitions.set(key(tp), { route, entries: [], oldestAt: deps.now(), forcedEnd });
    },
    async onRevoked(tp) {
      const state = partitions.get(key(tp));
      if (state) buffered.dec(state.entries.length);
      partitions.delete(key(tp));
    },
    async handleBatch(batch: PartitionBatch, control) {
      const state = partitions.get(key(batch));
      if (!state) throw new Error(`partition ${key(batch)} not assigned`);
      if (state.entries.length === 0) state.oldestAt = deps.now();
      for (const message of batch.messages) state.entries.push(decodeMessage(state.route, message));
      buffered.inc(batch.messages.length);
      return flushWhile(batch, state, control, () => state.entries.length >= deps.maxBufferRows || state.forcedEnd !== null);
    },
    async onIdle(tp, control) {
      const state = partitions.get(key(tp));
      if (!state) return null;
      return flushWhile(tp, state, control, () => deps.now() - state.oldestAt >= deps.flushIntervalMs || state.entries.length >= deps.maxBufferRows);
    },
    async flush(tp, control) {
      const state = partitions.get(key(tp));
      if (!state) return null;
      return flushWhile(tp, state, control, () => true);
    },
    bufferedRows: () => [...partitions.values()].reduce((n, s) => n + s.entries.length, 0),
  };
}
