import type { KafkaMessage } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Codec } from '../../schemas/codec.js';
import type { DeadLetter } from '../../schemas/journey.js';
import type { CommittedOffset, PartitionBatch, PartitionControl, PartitionHandler, TopicPartition } from '../platform/kafka/consumer.js';
import type { RecordProducer } from '../platform/kafka/producer.js';
import { membersOf } from '../platform/kafka/record-bundle.js';
import type { Logger } from '../platform/logging/logger.js';
import type { BlockInserter } from './clickhouse-inserter.js';
import {
  blockToken,
  cutBlock,
  describeRanges,
  doneMetadata,
  intentMetadata,
  memberState,
  nextDueAt,
  pendingBlock,
  resolveReplay,
  sameRanges,
  type BlockSpec,
  type BufferView,
  type Committed,
  type MemberState,
  type OffsetRange,
  type ReplayDecision,
} from './core/block-plan.js';
import { backoffMs } from '../platform/retry/backoff.js';
import { INSERT_BACKOFF } from './core/insert-errors.js';
import { newestVersions } from './core/newest-versions.js';

/** How one topic's records become rows of one table. */
export interface TopicRoute {
  topic: string;
  table: string;
  decode(bytes: Buffer): unknown;
  /** null: a control record with nothing to store (it is committed like any other). */
  toRow(value: unknown): Record<string, unknown> | null;
  /** The age at which this table's block is due, if not the handler's `flushIntervalMs`. */
  maxAgeMs?: number;
  /**
   * For a ReplacingMergeTree(version) table: a row's key (covered by the sort key) and version. A
   * block then sends only the newest version of each key (core/newest-versions.ts): the engine would
   * drop the others on insert anyway.
   */
  versioned?: { key(row: Record<string, unknown>): string; version(row: Record<string, unknown>): number };
}

export interface WriterHandlerDeps {
  routes: TopicRoute[];
  inserter: BlockInserter;
  producer: RecordProducer;
  deadLetterTopic: string;
  deadLetterCodec: Codec<DeadLetter>;
  /**
   * Records a table holds at most (buffered and being inserted): above it a partition's next batch
   * waits for the insert (back-pressure; Kafka keeps the backlog). A block is cut at half of it...
   */
  maxBufferRows: number;
  /** ...or when its oldest record has waited this long (freshness before throughput). */
  flushIntervalMs: number;
  /** How long a writer holding only some members of an interrupted block waits for the others (ms). */
  replayWaitMs?: number;
  /** The group's committed offsets on a topic: what became of the members of an interrupted block held elsewhere. */
  committedOffsets?: (topic: string) => Promise<Map<number, CommittedOffset>>;
  now: () => number;
  random?: () => number;
  registry: Registry;
  logger: Logger;
}

/** One input offset: a plain record, or a bundle of many (record-bundle.ts), which is never split across blocks. */
interface Entry {
  offset: bigint;
  /** When the record was fetched (ms): the age that makes a block due. */
  at: number;
  rows: Array<Record<string, unknown>>;
  dead: DeadLetter[];
  /** What the entry counts towards a block's size: its rows and dead letters, at least 1. */
  weight: number;
}

interface PartitionState {
  partition: number;
  entries: Entry[];
  /** The sum of the entries' weights. */
  weight: number;
  /** The next offset expected: a record fetched again (kafkajs re-reads from the commit after a rebalance) is skipped. */
  next: bigint;
  /** The latest control the consumer handed out for this partition (commits go through it). */
  control: PartitionControl | null;
  /** The interrupted block this partition must replay before anything else (its committed intent). */
  pending: BlockSpec | null;
  /** What this writer last committed for it (or found committed). */
  committed: Committed;
}

type BlockKind = 'new' | ReplayDecision['kind'];

/** A block on its way: cut, then intents, insert, dead letters and final commits, resumed where it failed. */
interface Block {
  spec: BlockSpec;
  kind: Exclude<BlockKind, 'wait'>;
  token: string;
  mayDuplicate: boolean;
  /** The members this writer writes and commits (every member, except for a part or a skip). */
  ranges: OffsetRange[];
  /** Each member's state when the block was cut: a partition revoked since has a different one (or none). */
  members: Map<number, PartitionState>;
  rows: Array<Record<string, unknown>>;
  dead: DeadLetter[];
  step: 'intent' | 'insert' | 'dead-letters' | 'finalize';
  intentsTried: boolean;
  finalized: Set<number>;
}

interface TableState {
  route: TopicRoute;
  partitions: Map<number, PartitionState>;
  block: Block | null;
  running: Promise<void> | null;
  timer: NodeJS.Timeout | null;
  timerAt: number;
  /** Since when this writer waits for the members of each interrupted block (by ranges). */
  waits: Map<string, number>;
  known: { at: number; offsets: Map<number, Committed> } | null;
  failures: number;
  retryAt: number;
  /** A stop's flush failed for this table: later flushes of the same stop do not try again. */
  stopFlushFailed: boolean;
}

const KNOWLEDGE_REFRESH_MS = 1_000;

/**
 * Kafka → ClickHouse. Records are buffered per topic-partition; one block at a time per table
 * (topic) is cut across all of its partitions this writer holds, once they buffer half of
 * `maxBufferRows` or the oldest record waited `flushIntervalMs`. Each block is made durable as an
 * intent on every member (core/block-plan.ts), inserted with a token named by its offset ranges,
 * rows ClickHouse can never accept are dead-lettered, and only then each member is committed.
 * An interrupted block (a crash, a rebalance) is rebuilt from its intents: see `resolveReplay`.
 *
 * The handler commits every offset itself (through the consumer's `control.commit`) and returns no
 * commit point: a block's members are committed together, whichever partition's batch cut it.
 */
export function createWriterHandler(deps: WriterHandlerDeps): PartitionHandler & { bufferedRows(): number; close(): void } {
  const blockRows = Math.max(1, Math.floor(deps.maxBufferRows / 2));
  const replayWaitMs = deps.replayWaitMs ?? 10_000;
  const random = deps.random ?? Math.random;
  let closed = false;
  const tables = new Map<string, TableState>(
    deps.routes.map((route) => [
      route.topic,
      { route, partitions: new Map(), block: null, running: null, timer: null, timerAt: Infinity, waits: new Map(), known: null, failures: 0, retryAt: 0, stopFlushFailed: false },
    ]),
  );
  const tableOf = (tp: TopicPartition): TableState => {
    const t = tables.get(tp.topic);
    if (!t) throw new Error(`writer has no route for topic ${tp.topic}`);
    return t;
  };
  const records = (t: TableState) => {
    let n = 0;
    for (const st of t.partitions.values()) n += st.weight;
    return n;
  };
  const allRecords = () => [...tables.values()].reduce((n, t) => n + records(t), 0);
  const maxAgeOf = (t: TableState) => t.route.maxAgeMs ?? deps.flushIntervalMs;

  const inserted = new Counter({ name: 'writer_rows_inserted_total', help: 'Rows acknowledged by ClickHouse', labelNames: ['table'], registers: [deps.registry] });
  const deadLettered = new Counter({ name: 'writer_dead_letters_total', help: 'Records sent to the dead-letter topic', labelNames: ['topic', 'reason'], registers: [deps.registry] });
  const insertSeconds = new Histogram({ name: 'writer_insert_duration_seconds', help: 'Block insert latency including retries', labelNames: ['table'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [deps.registry] });
  const blockSize = new Histogram({ name: 'writer_block_rows', help: 'Rows per inserted block (one insert spans all partitions of a table)', labelNames: ['table'], buckets: [1, 10, 100, 1_000, 5_000, 10_000, 20_000, 50_000, 100_000], registers: [deps.registry] });
  const blockPartitions = new Histogram({ name: 'writer_block_partitions', help: 'Partitions per inserted block', labelNames: ['table'], buckets: [1, 2, 4, 8, 16, 32, 64], registers: [deps.registry] });
  const replayed = new Counter({ name: 'writer_replayed_blocks_total', help: 'Interrupted blocks replayed: full (same token), part (members split across writers), skip (known inserted)', labelNames: ['table', 'outcome'], registers: [deps.registry] });
  const maybeDuplicated = new Counter({
    name: 'writer_replayed_rows_maybe_duplicated_total',
    help: 'Rows of a part of an interrupted block re-inserted under their own token; duplicates if the whole block had been inserted (ReplacingMergeTree collapses them)',
    labelNames: ['table'],
    registers: [deps.registry],
  });
  const superseded = new Counter({
    name: 'writer_rows_superseded_in_block_total',
    help: 'Rows not sent because a newer version of the same key is in the same block (versioned tables)',
    labelNames: ['table'],
    registers: [deps.registry],
  });
  new Gauge({ name: 'writer_buffered_rows', help: 'Records held: waiting for their block or being inserted', registers: [deps.registry], collect() { this.set(allRecords()); } });

  const deadLetter = (topic: string, message: KafkaMessage, reason: string): DeadLetter => ({
    sourceTopic: topic,
    stage: 'writer',
    reason,
    at: deps.now(),
    key: message.key?.toString('utf8') ?? null,
    payload: message.value?.toString('base64') ?? '',
  });

  const decodeMessage = (route: TopicRoute, message: KafkaMessage, offset: bigint, at: number): Entry => {
    const rows: Array<Record<string, unknown>> = [];
    const dead: DeadLetter[] = [];
    let members: KafkaMessage[];
    try {
      members = membersOf(message);
    } catch (error) {
      members = [];
      dead.push(deadLetter(route.topic, message, `undecodable bundle: ${(error as Error).message}`));
    }
    for (const member of members) {
      if (!member.value) {
        dead.push(deadLetter(route.topic, member, 'empty message value'));
        continue;
      }
      try {
        const row = route.toRow(route.decode(member.value));
        if (row !== null) rows.push(row);
      } catch (error) {
        dead.push(deadLetter(route.topic, member, `undecodable: ${(error as Error).message}`));
      }
    }
    return { offset, at, rows, dead, weight: Math.max(1, rows.length + dead.length) };
  };

  const commit = async (st: PartitionState, offset: bigint, metadata: string | null) => {
    if (!st.control) throw new Error(`partition ${st.partition} has no consumer control yet`);
    await st.control.commit({ offset: offset.toString(), metadata });
    st.committed = { offset, metadata };
  };

  // --- planning -----------------------------------------------------------------------------

  const refreshKnowledge = async (t: TableState) => {
    if (!deps.committedOffsets || (t.known && deps.now() - t.known.at < KNOWLEDGE_REFRESH_MS)) return;
    try {
      const offsets = await deps.committedOffsets(t.route.topic);
      t.known = {
        at: deps.now(),
        offsets: new Map([...offsets].map(([p, c]) => [p, { offset: BigInt(c.offset), metadata: c.metadata }])),
      };
    } catch (err) {
      deps.logger.warn({ err, topic: t.route.topic }, 'committed offsets unavailable; an interrupted block waits');
      t.known = { at: deps.now(), offsets: t.known?.offsets ?? new Map() };
    }
  };

  const replayStates = (t: TableState, spec: BlockSpec): { states: Map<number, MemberState>; elsewhere: boolean } => {
    const states = new Map<number, MemberState>();
    let elsewhere = false;
    for (const r of spec.ranges) {
      const st = t.partitions.get(r.partition);
      if (st?.pending && sameRanges(st.pending.ranges, spec.ranges)) states.set(r.partition, 'held');
      else if (st) states.set(r.partition, memberState(spec, r, st.committed, false));
      else {
        elsewhere = true;
        states.set(r.partition, memberState(spec, r, t.known?.offsets.get(r.partition), false));
      }
    }
    return { states, elsewhere };
  };

  const decideReplay = async (t: TableState, spec: BlockSpec): Promise<ReplayDecision> => {
    const id = describeRanges(spec.ranges);
    const now = deps.now();
    const since = t.waits.get(id) ?? now;
    t.waits.set(id, since);
    let { states, elsewhere } = replayStates(t, spec);
    let decision = resolveReplay(spec, states, now - since >= replayWaitMs);
    if (elsewhere && decision.kind !== 'full' && decision.kind !== 'skip') {
      // Before waiting or risking a duplicate: has a member been finished (a done marker) meanwhile?
      await refreshKnowledge(t);
      ({ states } = replayStates(t, spec));
      decision = resolveReplay(spec, states, deps.now() - since >= replayWaitMs);
    }
    return decision;
  };

  const makeBlock = (t: TableState, spec: BlockSpec, kind: Block['kind'], token: string, ranges: OffsetRange[], mayDuplicate: boolean): Block => {
    const members = new Map<number, PartitionState>();
    const rows: Array<Record<string, unknown>> = [];
    const dead: DeadLetter[] = [];
    for (const r of ranges) {
      const st = t.partitions.get(r.partition)!;
      members.set(r.partition, st);
      if (kind === 'skip') continue; // inserted and dead-lettered before; only committed now
      for (const e of st.entries) {
        if (e.offset > r.last) break;
        if (e.offset < r.first) continue;
        for (const row of e.rows) rows.push(row);
        for (const d of e.dead) dead.push(d);
      }
    }
    const step = kind === 'skip' ? 'finalize' : kind === 'new' && rows.length > 0 ? 'intent' : 'insert';
    // Rebuilt from the same records, a replayed block keeps the same rows (and its token is its ranges').
    const versioned = t.route.versioned;
    const sent = versioned ? newestVersions(rows, versioned.key, versioned.version) : rows;
    if (sent.length < rows.length) superseded.inc({ table: t.route.table }, rows.length - sent.length);
    return { spec, kind, token, mayDuplicate, ranges, members, rows: sent, dead, step, intentsTried: false, finalized: new Set() };
  };

  /** The next block of a table: an interrupted block that can be replayed now, else a new one if due. */
  const plan = async (t: TableState, force: boolean): Promise<Block | null> => {
    const interrupted = new Map<string, BlockSpec>();
    for (const st of t.partitions.values()) if (st.pending) interrupted.set(describeRanges(st.pending.ranges), st.pending);
    for (const [id, spec] of interrupted) {
      const decision = await decideReplay(t, spec);
      if (decision.kind === 'wait') continue;
      // Every member replayed here must have been fetched up to its recorded end.
      const fetched = decision.ranges.every((r) => {
        const st = t.partitions.get(r.partition);
        return st !== undefined && st.next > r.last;
      });
      if (!fetched) continue;
      t.waits.delete(id);
      if (decision.kind === 'skip') return makeBlock(t, spec, 'skip', blockToken(spec), decision.ranges, false);
      return makeBlock(t, spec, decision.kind, decision.token, decision.ranges, decision.kind === 'part' && decision.mayDuplicate);
    }
    const spec = cutBlock(t.route.topic, buffers(t), { blockRows, maxAgeMs: maxAgeOf(t), now: deps.now(), force });
    return spec ? makeBlock(t, spec, 'new', blockToken(spec), spec.ranges, false) : null;
  };

  const buffers = (t: TableState): BufferView[] => {
    const views: BufferView[] = [];
    for (const st of t.partitions.values()) {
      const first = st.entries[0];
      const last = st.entries[st.entries.length - 1];
      if (st.pending || !first || !last) continue;
      views.push({ partition: st.partition, first: first.offset, last: last.offset, records: st.weight, oldestAt: first.at });
    }
    return views;
  };

  // --- executing ----------------------------------------------------------------------------

  /** A member left before this writer inserted anything of the block: the rest becomes a replay. */
  const abandon = (t: TableState, b: Block) => {
    if (b.kind === 'new' && b.intentsTried) {
      for (const [p, st] of b.members) if (t.partitions.get(p) === st) st.pending = b.spec;
    }
    deps.logger.info({ topic: t.route.topic, block: b.token }, 'a member of a block was revoked before its insert; the rest is replayed');
  };

  /** Runs a block from the step it is at; throws (and keeps its step) when a commit or send fails. */
  const execute = async (t: TableState, b: Block): Promise<'done' | 'abandoned'> => {
    const table = t.route.table;
    const held = (p: number) => t.partitions.get(p) === b.members.get(p);
    const allHeld = () => b.ranges.every((r) => held(r.partition));
    if (b.step === 'intent') {
      if (!allHeld()) return (abandon(t, b), 'abandoned');
      // The intent makes this block's boundaries survive a crash (core/block-plan.ts).
      b.intentsTried = true;
      await Promise.all(
        b.ranges.map(async (r) => {
          const st = b.members.get(r.partition)!;
          await commit(st, r.first, intentMetadata(b.spec));
          st.pending = b.spec;
        }),
      );
      b.step = 'insert';
    }
    if (b.step === 'insert') {
      if (!allHeld()) return (abandon(t, b), 'abandoned');
      if (b.rows.length > 0) {
        const started = deps.now();
        const poison = await deps.inserter.insert(table, b.rows, b.token);
        insertSeconds.labels(table).observe((deps.now() - started) / 1000);
        inserted.labels(table).inc(b.rows.length - poison.length);
        blockSize.labels(table).observe(b.rows.length);
        blockPartitions.labels(table).observe(b.ranges.length);
        if (b.mayDuplicate) maybeDuplicated.labels(table).inc(b.rows.length - poison.length);
        for (const p of poison) {
          b.dead.push({ sourceTopic: t.route.topic, stage: 'writer', reason: p.reason, at: deps.now(), key: null, payload: Buffer.from(JSON.stringify(p.row)).toString('base64') });
        }
      }
      b.step = 'dead-letters';
    }
    if (b.step === 'dead-letters') {
      if (b.dead.length > 0) {
        if (t.route.topic === deps.deadLetterTopic) {
          // A dead letter that cannot be stored is not re-queued (that would loop): it stays in the topic.
          deps.logger.error({ count: b.dead.length, reasons: b.dead.map((d) => d.reason).slice(0, 5) }, 'dead letters not storable in ClickHouse');
        } else {
          await deps.producer.send(b.dead.map((d, i) => ({ topic: deps.deadLetterTopic, key: `${b.token}:${i}`, value: deps.deadLetterCodec.encode(d) })));
        }
        for (const d of b.dead) deadLettered.labels(t.route.topic, d.reason.split(':')[0] ?? 'unknown').inc();
      }
      b.step = 'finalize';
    }
    // Inserted: members revoked meanwhile are left to their new owner (it finds this block's done
    // marker on the others and skips them); the ones still here are committed past the block.
    const metadata = b.kind === 'part' ? null : doneMetadata(b.spec);
    await Promise.all(
      b.ranges.map(async (r) => {
        if (b.finalized.has(r.partition) || !held(r.partition)) return;
        const st = b.members.get(r.partition)!;
        await commit(st, r.last + 1n, metadata);
        let n = 0;
        while (n < st.entries.length && st.entries[n]!.offset <= r.last) st.weight -= st.entries[n++]!.weight;
        st.entries.splice(0, n);
        if (st.pending && sameRanges(st.pending.ranges, b.spec.ranges)) st.pending = null;
        b.finalized.add(r.partition);
      }),
    );
    if (b.kind !== 'new') {
      replayed.labels(table, b.kind).inc();
      deps.logger.info({ topic: t.route.topic, block: b.token, outcome: b.kind, rows: b.rows.length }, 'interrupted block replayed');
    }
    return 'done';
  };

  /** Cuts and runs blocks while one is due; the table's one block at a time. */
  const drive = async (t: TableState, force: boolean) => {
    for (;;) {
      if (closed) return;
      t.block ??= await plan(t, force);
      const b = t.block;
      if (!b) return;
      await execute(t, b);
      t.block = null;
    }
  };

  /** Runs `drive` unless it runs already (then waits for that run). Never rejects: a failure is retried later. */
  const pump = (t: TableState, force = false): Promise<void> => {
    if (t.running) return t.running;
    if (closed) return Promise.resolve();
    const run = drive(t, force).then(
      () => {
        t.failures = 0;
      },
      (err: unknown) => {
        t.failures++;
        t.retryAt = deps.now() + backoffMs(t.failures - 1, INSERT_BACKOFF, random);
        deps.logger.warn({ err, topic: t.route.topic, block: t.block?.token, attempt: t.failures }, 'block failed; retrying');
      },
    );
    t.running = run.finally(() => {
      t.running = null;
      arm(t);
    });
    return t.running;
  };

  /** A timer for the table's next due moment: the oldest record's age, a retry, an interrupted block's wait. */
  const arm = (t: TableState) => {
    if (closed || t.running) return;
    let at = Infinity;
    if (t.block) at = t.retryAt;
    else {
      const due = nextDueAt(buffers(t), maxAgeOf(t));
      if (due !== null) at = due;
      for (const st of t.partitions.values()) if (st.pending) at = Math.min(at, deps.now() + Math.min(KNOWLEDGE_REFRESH_MS, replayWaitMs));
    }
    if (at === Infinity || (t.timer && t.timerAt <= at)) return;
    if (t.timer) clearTimeout(t.timer);
    t.timerAt = at;
    t.timer = setTimeout(() => {
      t.timer = null;
      t.timerAt = Infinity;
      void pump(t);
    }, Math.max(0, at - deps.now()));
    t.timer.unref();
  };

  return {
    async onAssigned(tp, committed) {
      const t = tableOf(tp);
      const c: Committed = { offset: BigInt(committed.offset), metadata: committed.metadata };
      const pending = c.offset >= 0n ? pendingBlock(tp.topic, tp.partition, c) : null;
      if (pending) deps.logger.info({ tp, committed: committed.offset, block: blockToken(pending) }, 'replaying an interrupted block');
      t.partitions.set(tp.partition, { partition: tp.partition, entries: [], weight: 0, next: c.offset >= 0n ? c.offset : -1n, control: null, pending, committed: c });
      arm(t);
    },
    async onRevoked(tp) {
      tables.get(tp.topic)?.partitions.delete(tp.partition);
    },
    async handleBatch(batch: PartitionBatch, control) {
      const t = tableOf(batch);
      const st = t.partitions.get(batch.partition);
      if (!st) throw new Error(`partition ${batch.topic}:${batch.partition} not assigned`);
      st.control = control;
      const at = deps.now();
      for (const message of batch.messages) {
        const offset = BigInt(message.offset);
        if (offset < st.next) continue; // fetched again after a rebalance: already buffered or written
        const entry = decodeMessage(t.route, message, offset, at);
        st.entries.push(entry);
        st.weight += entry.weight;
        st.next = offset + 1n;
      }
      if (records(t) >= blockRows || st.pending) void pump(t);
      else arm(t);
      // Back-pressure: while the table holds maxBufferRows, this partition waits for the insert.
      while (!closed && records(t) >= deps.maxBufferRows) {
        const before = records(t);
        await pump(t);
        if (records(t) >= before) break; // nothing can go now (an interrupted block waits): do not spin
      }
      return null;
    },
    async flush(tp) {
      const t = tables.get(tp.topic);
      if (!t || t.stopFlushFailed) return null;
      while (t.running) await t.running;
      const run = drive(t, true);
      t.running = run.then(
        () => undefined,
        () => undefined,
      );
      try {
        await run;
      } catch (error) {
        t.stopFlushFailed = true;
        throw error;
      } finally {
        t.running = null;
      }
      return null;
    },
    close() {
      closed = true;
      for (const t of tables.values()) if (t.timer) clearTimeout(t.timer);
    },
    bufferedRows: allRecords,
  };
}
