import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Registry } from 'prom-client';
import { createKafkaProducer } from '../../services/platform/kafka/producer.js';
import { createWriterService } from '../../services/writer/service.js';
import type { TopicRoute } from '../../services/writer/writer-handler.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { waitForDrained } from '../support/drain.js';
import { eventually } from '../support/eventually.js';
import { uniqueGroupId, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, freshRegistry, testKafka, testLogger } from '../support/pipeline.js';

// Bulk inserts against the real broker and the real ClickHouse engine: one insert spans every
// partition of a topic, and a writer that dies between that insert and its commits is replaced by
// one that rebuilds the same block (same token: ClickHouse drops it), or, when the block's
// partitions are split across writers, inserts its part under its own token (counted).

const PARTITIONS = 4;

const probeRoute = (topic: string, table: string): TopicRoute => ({
  topic,
  table,
  decode: (bytes) => JSON.parse(bytes.toString('utf8')),
  toRow: (v) => v as Record<string, unknown>,
});

/**
 * A ClickHouse client whose inserts can be made to hang after they reached ClickHouse (the writer
 * then never learns they succeeded, so it never commits), and then fail for good, as if the
 * process had died right after the insert.
 */
function crashableClient(target: ClickHouseClient) {
  const tokens: string[] = [];
  let mode: 'pass' | 'hang-after-insert' | 'dead' = 'pass';
  let release: ((error: Error) => void) | undefined;
  const dead = () => Object.assign(new Error('connect ECONNREFUSED (the writer process is gone)'), { code: 'ECONNREFUSED' });
  const client = new Proxy(target, {
    get(t, prop, receiver) {
      if (prop !== 'insert') return Reflect.get(t, prop, receiver);
      return async (params: Parameters<ClickHouseClient['insert']>[0]) => {
        if (mode === 'dead') throw dead();
        tokens.push(String(params.clickhouse_settings?.insert_deduplication_token));
        const result = await t.insert(params);
        if (mode === 'hang-after-insert') await new Promise<never>((_, reject) => (release = reject));
        return result;
      };
    },
  });
  return {
    client,
    tokens,
    hangAfterInsert: () => void (mode = 'hang-after-insert'),
    /** From now on every insert fails, the one hanging too. */
    die: () => {
      mode = 'dead';
      release?.(dead());
    },
  };
}

async function counter(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return (metric?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
}

describe('writer: one insert per table across partitions, replayed exactly after a crash', () => {
  let db: TestDatabase;
  let kafka: Kafka;

  beforeAll(async () => {
    db = await freshDatabase('wblocks', { migrate: false });
    kafka = testKafka('writer-blocks-it');
  });
  afterAll(async () => db?.drop());

  async function probeTable(name: string) {
    // ReplacingMergeTree like every journey table: FINAL collapses what a split replay may repeat.
    await db.ch.client.command({
      query: `CREATE TABLE ${db.database}.${name} (id String, n UInt32) ENGINE = ReplacingMergeTree ORDER BY id
              SETTINGS non_replicated_deduplication_window = 1000`,
    });
    return `${db.database}.${name}`;
  }

  const rowsIn = async (table: string, final = false) => {
    const rs = await db.ch.client.query({ query: `SELECT count() AS c, uniqExact(id) AS u FROM ${table}${final ? ' FINAL' : ''}`, format: 'JSONEachRow' });
    const [r] = await rs.json<{ c: string; u: string }>();
    return { rows: Number(r!.c), ids: Number(r!.u) };
  };

  async function fixture(tableName: string) {
    const table = await probeTable(tableName);
    const topics = uniqueTopics();
    await createTestTopics(kafka, topics, PARTITIONS);
    const groupId = uniqueGroupId('wblocks');
    const group = { groupId, topics: [topics.sessions] };
    const writer = (client: ClickHouseClient, registry: Registry, options: { maxBufferRows: number; flushIntervalMs: number; replayWaitMs?: number }) =>
      createWriterService({
        kafka,
        clickhouse: { ...db.ch, client },
        topics,
        routes: [probeRoute(topics.sessions, table)],
        groupId,
        maxRowsPerInsert: 100_000,
        registry,
        logger: testLogger('writer'),
        ...options,
      });
    /** `perPartition` rows into each partition, ids `${tag}-${partition}-${i}`. */
    const send = async (producer: ReturnType<typeof createKafkaProducer>, tag: string, perPartition: number) => {
      const records = [];
      for (let p = 0; p < PARTITIONS; p++) {
        for (let i = 0; i < perPartition; i++) records.push({ topic: topics.sessions, key: `${p}`, partition: p, value: Buffer.from(JSON.stringify({ id: `${tag}-${p}-${i}`, n: i })) });
      }
      await producer.send(records);
    };
    const committed = async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const [t] = await admin.fetchOffsets({ groupId, topics: [topics.sessions] });
        return t!.partitions.sort((a, b) => a.partition - b.partition).map((p) => ({ offset: p.offset, metadata: p.metadata }));
      } finally {
        await admin.disconnect();
      }
    };
    return { table, topics, group, writer, send, committed };
  }

  it('inserts one block spanning every partition; killed between insert and commit, a fresh writer replays it with 0 duplicates', async () => {
    const f = await fixture('probe_replay');
    const producer = createKafkaProducer(kafka, { name: 'test' });
    const a = crashableClient(db.ch.client);
    const b = crashableClient(db.ch.client);
    const registryB = freshRegistry();
    // Blocks are cut at half of maxBufferRows: 100 records, i.e. only once all four partitions' 25 are in.
    const writerA = createWriterStopOnce(f.writer(a.client, freshRegistry(), { maxBufferRows: 200, flushIntervalMs: 600_000 }));
    const writerB = createWriterStopOnce(f.writer(b.client, registryB, { maxBufferRows: 200, flushIntervalMs: 100 }));
    try {
      await producer.start();
      await writerA.start();
      a.hangAfterInsert();
      await f.send(producer, 'a', 25);
      const block = `${f.topics.sessions}:0:0-24,1:0-24,2:0-24,3:0-24`;
      // One insert holds all four partitions' rows; it reached ClickHouse, the writer never heard back.
      await eventually(() => rowsIn(f.table), (r) => r.rows >= 100, 60_000, 100, '100 rows inserted');
      expect(a.tokens).toEqual([block]);
      // Every member's intent was durable before the insert, and nothing is committed past it.
      expect(await f.committed()).toEqual([0, 1, 2, 3].map(() => ({ offset: '0', metadata: 'block:0:0-24,1:0-24,2:0-24,3:0-24' })));

      // The writer dies (stopping it cannot commit: every later insert fails and the block is abandoned).
      const stopping = writerA.stop();
      a.die();
      await stopping;
      expect(await f.committed()).toEqual([0, 1, 2, 3].map(() => ({ offset: '0', metadata: 'block:0:0-24,1:0-24,2:0-24,3:0-24' })));

      // More records arrive; a fresh writer in the same group reads from the intents.
      await f.send(producer, 'b', 10);
      await writerB.start();
      await waitForDrained(kafka, [f.group], 120_000);
      // The same block again, with the same token (dropped by ClickHouse), then the new records.
      expect(b.tokens[0]).toBe(block);
      expect(b.tokens.slice(1).every((t) => t !== block)).toBe(true);
      expect(await rowsIn(f.table)).toEqual({ rows: 140, ids: 140 }); // without FINAL
      expect(await counter(registryB, 'writer_replayed_blocks_total', { outcome: 'full' })).toBe(1);
      expect(await counter(registryB, 'writer_replayed_rows_maybe_duplicated_total')).toBe(0);
      expect((await f.committed()).map((c) => c.offset)).toEqual(['35', '35', '35', '35']);
    } finally {
      a.die();
      await writerA.stop().catch(() => undefined);
      await writerB.stop().catch(() => undefined);
      await producer.stop().catch(() => undefined);
    }
  });

  it("a block whose partitions are split across writers by a rebalance: each inserts its own part, nothing is lost, repeats are counted", async () => {
    const f = await fixture('probe_split');
    const producer = createKafkaProducer(kafka, { name: 'test' });
    const a = crashableClient(db.ch.client);
    const b = crashableClient(db.ch.client);
    const registryB = freshRegistry();
    const writerA = createWriterStopOnce(f.writer(a.client, freshRegistry(), { maxBufferRows: 200, flushIntervalMs: 600_000 }));
    const writerB = createWriterStopOnce(f.writer(b.client, registryB, { maxBufferRows: 200, flushIntervalMs: 100, replayWaitMs: 2_000 }));
    try {
      await producer.start();
      await writerA.start();
      a.hangAfterInsert();
      await f.send(producer, 'a', 25);
      await eventually(() => rowsIn(f.table), (r) => r.rows >= 100, 60_000, 100, '100 rows inserted');
      expect(a.tokens).toHaveLength(1);

      // A second writer joins while the first still waits for its insert: the group splits the
      // partitions 2 + 2. The newcomer's two hold intents of a block whose other members it does
      // not hold: it waits (replayWaitMs), then inserts its part under a token of its own.
      await writerB.start();
      await eventually(() => counter(registryB, 'writer_replayed_blocks_total', { outcome: 'part' }), (n) => n >= 1, 60_000, 100, 'first part replayed');
      // The first writer dies; its two partitions come to the second, which inserts the other part.
      const stopping = writerA.stop();
      a.die();
      await stopping;
      await f.send(producer, 'b', 10);
      await waitForDrained(kafka, [f.group], 120_000);

      const parts = b.tokens.filter((t) => t.includes('|part:'));
      expect(parts).toHaveLength(2);
      expect(new Set(parts).size).toBe(2);
      expect(await counter(registryB, 'writer_replayed_blocks_total', { outcome: 'part' })).toBe(2);
      // Nothing lost: every id is there. The interrupted block's rows were inserted by the first
      // writer and again in parts: exactly those repeats are visible without FINAL, and counted.
      const raw = await rowsIn(f.table);
      expect(raw.ids).toBe(140);
      expect(raw.rows - raw.ids).toBe(await counter(registryB, 'writer_replayed_rows_maybe_duplicated_total'));
      expect(raw.rows - raw.ids).toBe(100);
      expect(await rowsIn(f.table, true)).toEqual({ rows: 140, ids: 140 });
    } finally {
      a.die();
      await writerA.stop().catch(() => undefined);
      await writerB.stop().catch(() => undefined);
      await producer.stop().catch(() => undefined);
    }
  });
});

/** A service whose stop may be called twice (the test's own and the one in `finally`). */
function createWriterStopOnce<T extends { stop(): Promise<void> }>(service: T): T {
  let stopped: Promise<void> | undefined;
  const stop = service.stop.bind(service);
  service.stop = () => (stopped ??= stop());
  return service;
}
