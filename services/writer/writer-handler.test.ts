import type { KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DeadLetter } from '../../schemas/journey.js';
import type { CommittedOffset, PartitionControl } from '../platform/kafka/consumer.js';
import type { RecordProducer } from '../platform/kafka/producer.js';
import { createLogger } from '../platform/logging/logger.js';
import type { BlockInserter } from './clickhouse-inserter.js';
import { bundleHeaders, encodeBundle } from '../platform/kafka/record-bundle.js';
import { createWriterHandler, type TopicRoute } from './writer-handler.js';

// The handler against in-memory fakes of the consumer group (commits), ClickHouse (inserts that
// drop a repeated token, as insert_deduplication_token does) and the dead-letter producer.

const topic = 'touchpoints';
const route: TopicRoute = { topic, table: 'db.touchpoints', decode: (b) => JSON.parse(b.toString('utf8')), toRow: (v) => v as Record<string, unknown> };

function world() {
  const group = new Map<number, CommittedOffset>();
  const inserts: Array<{ token: string; rows: string[]; dropped: boolean }> = [];
  const tokens = new Set<string>();
  const table: string[] = [];
  return { group, inserts, table, tokens };
}
type World = ReturnType<typeof world>;

function writer(
  w: World,
  options: {
    maxBufferRows?: number;
    replayWaitMs?: number;
    failDoneCommits?: boolean;
    clock?: { now: number };
    flushIntervalMs?: number;
    routeMaxAgeMs?: number;
    versioned?: TopicRoute['versioned'];
  } = {},
) {
  const clock = options.clock ?? { now: 0 };
  let dying = false;
  const inserter: BlockInserter = {
    async insert(_table, rows, token) {
      const dropped = w.tokens.has(token);
      w.inserts.push({ token, rows: rows.map((r) => String(r.id)), dropped });
      if (!dropped) {
        w.tokens.add(token);
        w.table.push(...rows.map((r) => String(r.id)));
      }
      if (options.failDoneCommits) dying = true; // the process dies right after this insert
      return [];
    },
  };
  const producer = { send: async () => undefined } as unknown as RecordProducer;
  const handler = createWriterHandler({
    routes: [{ ...route, ...(options.routeMaxAgeMs === undefined ? {} : { maxAgeMs: options.routeMaxAgeMs }), ...(options.versioned ? { versioned: options.versioned } : {}) }],
    inserter,
    producer,
    deadLetterTopic: 'dead-letter',
    deadLetterCodec: { encode: () => Buffer.alloc(0), decode: () => ({}) as DeadLetter } as never,
    maxBufferRows: options.maxBufferRows ?? 12,
    flushIntervalMs: options.flushIntervalMs ?? 60_000,
    replayWaitMs: options.replayWaitMs ?? 5_000,
    committedOffsets: async () => new Map(w.group),
    now: () => clock.now,
    registry: new Registry(),
    logger: createLogger('writer-test', 'silent'),
  });
  const control = (partition: number): PartitionControl => ({
    heartbeat: async () => undefined,
    async commit(point) {
      if (dying) throw new Error('killed');
      w.group.set(partition, { offset: point.offset, metadata: point.metadata ?? null });
    },
    // The writer commits its blocks itself; it offers no progress points.
    progress: async () => {
      throw new Error('the writer does not report progress points');
    },
  });
  const assign = (partition: number) => handler.onAssigned!({ topic, partition }, w.group.get(partition) ?? { offset: '-1', metadata: null });
  const batch = (partition: number, from: number, to: number) => {
    const messages = Array.from({ length: to - from + 1 }, (_, i) => ({ offset: String(from + i), key: null, value: Buffer.from(JSON.stringify({ id: `${partition}-${from + i}` })) }) as unknown as KafkaMessage);
    return handler.handleBatch({ topic, partition, messages, highWatermark: String(to + 1) }, control(partition));
  };
  const flush = (partition: number) => handler.flush!({ topic, partition }, control(partition));
  return { handler, assign, batch, flush, clock };
}

const committedAt = (w: World, p: number) => Number(w.group.get(p)?.offset ?? -1);

describe('writer handler: blocks across partitions', () => {
  it('inserts once for all partitions when together they fill half the buffer, then commits each past the block', async () => {
    const w = world();
    const x = writer(w, { maxBufferRows: 12 }); // blocks of 6
    for (const p of [0, 1, 2]) await x.assign(p);
    await x.batch(0, 0, 1);
    await x.batch(1, 0, 1);
    expect(w.inserts).toHaveLength(0);
    await x.batch(2, 0, 1); // 6 records in three partitions
    await x.flush(0); // waits for the running block (and would cut what is left)
    expect(w.inserts).toEqual([{ token: 'touchpoints:0:0-1,1:0-1,2:0-1', rows: ['0-0', '0-1', '1-0', '1-1', '2-0', '2-1'], dropped: false }]);
    expect([0, 1, 2].map((p) => w.group.get(p))).toEqual([0, 1, 2].map(() => ({ offset: '2', metadata: 'done:0:0-1,1:0-1,2:0-1' })));
    x.handler.close();
  });

  it('a crash between the insert and the commits: the restarted writer rebuilds the same block, ClickHouse drops it, nothing is lost', async () => {
    const w = world();
    const x = writer(w, { failDoneCommits: true });
    for (const p of [0, 1]) await x.assign(p);
    await x.batch(0, 0, 3);
    await x.batch(1, 0, 2);
    await x.flush(0).catch(() => undefined); // inserted, then killed before any final commit
    x.handler.close();
    expect(w.inserts.map((i) => i.token)).toEqual(['touchpoints:0:0-3,1:0-2']);
    expect(w.group.get(0)).toEqual({ offset: '0', metadata: 'block:0:0-3,1:0-2' });

    // The replacement reads from the committed offsets, with other batch boundaries and more records.
    const y = writer(w);
    for (const p of [1, 0]) await y.assign(p);
    await y.batch(1, 0, 5);
    await y.batch(0, 0, 1);
    await y.batch(0, 2, 6);
    await y.flush(0);
    await y.flush(1);
    expect(w.inserts[1]).toEqual({ token: 'touchpoints:0:0-3,1:0-2', rows: ['0-0', '0-1', '0-2', '0-3', '1-0', '1-1', '1-2'], dropped: true });
    expect(w.inserts[2]!.token).toBe('touchpoints:0:4-6,1:3-5');
    expect(w.table.sort()).toEqual([...['0-0', '0-1', '0-2', '0-3', '0-4', '0-5', '0-6'], ...['1-0', '1-1', '1-2', '1-3', '1-4', '1-5']].sort());
    expect([committedAt(w, 0), committedAt(w, 1)]).toEqual([7, 6]);
    y.handler.close();
  });

  it('a block split across writers after a crash: each waits, then inserts its own part; no row is lost', async () => {
    const w = world();
    const x = writer(w, { failDoneCommits: true });
    for (const p of [0, 1]) await x.assign(p);
    await x.batch(0, 0, 2);
    await x.batch(1, 0, 2);
    await x.flush(0).catch(() => undefined);
    x.handler.close();

    const clock = { now: 0 };
    const y = writer(w, { clock, replayWaitMs: 5_000 }); // holds partition 0 only; partition 1 went to another writer
    await y.assign(0);
    await y.batch(0, 0, 4);
    await y.flush(0);
    expect(w.inserts).toHaveLength(1); // still waiting for partition 1
    expect(committedAt(w, 0)).toBe(0);
    clock.now = 6_000;
    await y.batch(0, 5, 5);
    await y.flush(0);
    expect(w.inserts[1]).toEqual({ token: 'touchpoints:0:0-2,1:0-2|part:0', rows: ['0-0', '0-1', '0-2'], dropped: false });
    // The rows were inserted by the interrupted block already: these three are the counted duplicates
    // (collapsed by ReplacingMergeTree); the rest of partition 0 follows as a new block.
    expect(w.inserts[2]).toMatchObject({ token: 'touchpoints:0:3-5', dropped: false });
    expect(committedAt(w, 0)).toBe(6);
    y.handler.close();
  });

  it('a member finished with the done marker before the crash: the others are committed without inserting', async () => {
    const w = world();
    w.group.set(0, { offset: '3', metadata: 'done:0:0-2,1:0-2' });
    w.group.set(1, { offset: '0', metadata: 'block:0:0-2,1:0-2' });
    const y = writer(w);
    await y.assign(1);
    await y.batch(1, 0, 2);
    await y.flush(1);
    expect(w.inserts).toEqual([]);
    expect(w.group.get(1)).toEqual({ offset: '3', metadata: 'done:0:0-2,1:0-2' });
    y.handler.close();
  });

  it('skips records fetched again (kafkajs re-reads from the commit after a rebalance)', async () => {
    const w = world();
    const x = writer(w);
    await x.assign(0);
    await x.batch(0, 0, 2);
    await x.batch(0, 0, 4);
    expect(x.handler.bufferedRows()).toBe(5);
    await x.flush(0);
    expect(w.table).toEqual(['0-0', '0-1', '0-2', '0-3', '0-4']);
    x.handler.close();
  });
});

describe('writer handler: bundles', () => {
  it('takes a bundle’s members as rows of one offset: they count towards the block by rows and are never split across blocks', async () => {
    const w = world();
    const x = writer(w, { maxBufferRows: 12 }); // blocks of 6 rows
    await x.assign(0);
    const bundle = (offset: number, ids: string[]) =>
      ({ offset: String(offset), key: null, headers: bundleHeaders(), value: encodeBundle(ids.map((id) => ({ key: id, value: Buffer.from(JSON.stringify({ id })) }))) }) as unknown as KafkaMessage;
    await x.handler.handleBatch({ topic, partition: 0, messages: [bundle(0, ['a', 'b', 'c', 'd']), bundle(1, ['e', 'f', 'g'])], highWatermark: '2' }, {
      heartbeat: async () => undefined,
      commit: async (point) => void w.group.set(0, { offset: point.offset, metadata: point.metadata ?? null }),
      progress: async () => undefined,
    });
    await x.flush(0);
    expect(w.inserts).toEqual([{ token: 'touchpoints:0:0-1', rows: ['a', 'b', 'c', 'd', 'e', 'f', 'g'], dropped: false }]);
    expect(w.group.get(0)).toEqual({ offset: '2', metadata: 'done:0:0-1' });
    x.handler.close();
  });
});

describe('writer handler: a block due by age', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  // Date.now is faked with the timers, so the handler's clock and its timer move together.
  const fakeClock = { get now() { return Date.now(); } };

  it('is cut when its oldest record waited flushIntervalMs, or the route’s own maxAgeMs when it has one', async () => {
    for (const [routeMaxAgeMs, dueMs] of [[undefined, 100], [1_000, 1_000]] as const) {
      vi.useFakeTimers();
      const w = world();
      const x = writer(w, { maxBufferRows: 12, flushIntervalMs: 100, routeMaxAgeMs, clock: fakeClock });
      await x.assign(0);
      await x.batch(0, 0, 1); // 2 records, a third of a block: only age makes it due
      await vi.advanceTimersByTimeAsync(dueMs - 1);
      expect(w.inserts).toHaveLength(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(w.inserts).toEqual([{ token: 'touchpoints:0:0-1', rows: ['0-0', '0-1'], dropped: false }]);
      x.handler.close();
      vi.useRealTimers();
    }
  });
});

describe('writer handler: a versioned table', () => {
  it('sends only the newest version of each key in a block, and commits every record', async () => {
    const w = world();
    // ids are `${partition}-${offset}`: key by the offset's parity, version by the offset.
    const x = writer(w, { maxBufferRows: 100, versioned: { key: (r) => String(Number(String(r.id).split('-')[1]) % 2), version: (r) => Number(String(r.id).split('-')[1]) } });
    await x.assign(0);
    await x.batch(0, 0, 4);
    await x.flush(0);
    expect(w.inserts).toEqual([{ token: 'touchpoints:0:0-4', rows: ['0-3', '0-4'], dropped: false }]);
    expect(w.group.get(0)).toEqual({ offset: '5', metadata: 'done:0:0-4' });
    x.handler.close();
  });
});
