import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import type { ClickHouseClient } from '@clickhouse/client';
import { topicCodecs } from '../../schemas/topics.js';
import { createKafkaProducer } from '../../services/platform/kafka/producer.js';
import { createPartitionedConsumer } from '../../services/platform/kafka/consumer.js';
import { createWriterService } from '../../services/writer/service.js';
import type { TopicRoute } from '../../services/writer/writer-handler.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { stopAfterEach } from '../support/cleanup.js';
import { messagesIn, waitForDrained } from '../support/drain.js';
import { eventually } from '../support/eventually.js';
import { uniqueGroupId, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, freshRegistry, testKafka, testLogger } from '../support/pipeline.js';

// A probe table and route keep these tests about the writer's guarantees, not the journey schema.
const probeRoute = (topic: string, table: string): TopicRoute => ({
  topic,
  table,
  decode: (bytes) => JSON.parse(bytes.toString('utf8')),
  toRow: (v) => v as Record<string, unknown>,
});

async function count(client: ClickHouseClient, sql: string): Promise<number> {
  const rs = await client.query({ query: sql, format: 'JSONEachRow' });
  const [row] = await rs.json<{ c: string }>();
  return Number(row?.c ?? 0);
}

describe('ClickHouse writer', () => {
  let db: TestDatabase;
  let kafka: Kafka;
  const cleanup = stopAfterEach();

  beforeAll(async () => {
    db = await freshDatabase('writer', { migrate: false });
    kafka = testKafka('writer-it');
    await db.ch.client.command({
      query: `CREATE TABLE ${db.database}.probe (id String, n UInt32) ENGINE = MergeTree ORDER BY id
              SETTINGS non_replicated_deduplication_window = 1000`,
    });
  });
  afterAll(async () => db.drop());

  async function setup(opts: { flushIntervalMs: number; client?: ClickHouseClient; maxBufferRows?: number; maxRowsPerInsert?: number }) {
    const topics = uniqueTopics();
    await createTestTopics(kafka, topics, 2);
    const producer = cleanup.started(createKafkaProducer(kafka, { name: 'test' }));
    await producer.start();
    const groupId = uniqueGroupId('writer');
    const writer = cleanup.started(createWriterService({
      kafka,
      clickhouse: { ...db.ch, client: opts.client ?? db.ch.client },
      topics,
      routes: [probeRoute(topics.sessions, `${db.database}.probe`), { ...probeRoute(topics.deadLetter, `${db.database}.probe`), decode: (b) => topicCodecs.deadLetter().decode(b), toRow: () => ({ id: 'dl', n: 0 }) }],
      groupId,
      maxBufferRows: opts.maxBufferRows ?? 10_000,
      maxRowsPerInsert: opts.maxRowsPerInsert ?? 1_000,
      flushIntervalMs: opts.flushIntervalMs,
      registry: freshRegistry(),
      logger: testLogger('writer'),
    }));
    await writer.start();
    return { topics, producer, writer, groupId, group: { groupId, topics: [topics.sessions, topics.deadLetter] } };
  }

  const send = (producer: { send: Function }, topic: string, rows: Array<Record<string, unknown>>) =>
    producer.send(rows.map((r, i) => ({ topic, key: String(i), value: Buffer.from(JSON.stringify(r)) })));

  it('inserts every row once, flushes on shutdown and commits only what ClickHouse acknowledged', async () => {
    const { topics, producer, writer, groupId } = await setup({ flushIntervalMs: 600_000 });
    const rows = Array.from({ length: 500 }, (_, i) => ({ id: `a${i}`, n: i }));
    await send(producer, topics.sessions, rows);
    // Nothing is flushed by time (interval is 10 min) until the buffer fills or the writer stops.
    expect(await eventually(async () => writer.bufferedRows(), (n) => n >= 500)).toBe(500);
    expect(await count(db.ch.client, `SELECT count() c FROM ${db.database}.probe WHERE id LIKE 'a%'`)).toBe(0);
    await writer.stop();
    expect(await count(db.ch.client, `SELECT count() c FROM ${db.database}.probe WHERE id LIKE 'a%'`)).toBe(500);
    const admin = kafka.admin();
    await admin.connect();
    cleanup.defer(() => admin.disconnect());
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topics.sessions] });
    const committed = offsets!.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    expect(committed).toBe(500);
  });

  it('sends a row ClickHouse can never accept to the dead-letter topic with its reason, and inserts the rest', async () => {
    const { topics, producer, group } = await setup({ flushIntervalMs: 50 });
    await send(producer, topics.sessions, [
      { id: 'p1', n: 1 },
      { id: 'p2', n: 'not a number' },
      { id: 'p3', n: 3 },
    ]);
    const inserted = () => count(db.ch.client, `SELECT count() c FROM ${db.database}.probe WHERE id LIKE 'p%'`);
    await eventually(inserted, (c) => c >= 2);
    // The writer commits a block only after its rows are inserted and its dead letters sent: once it
    // has committed everything, the table and the dead-letter topic hold all they ever will.
    await waitForDrained(kafka, [group]);
    expect(await inserted()).toBe(2);
    expect(await messagesIn(kafka, topics.deadLetter)).toBe(1);
    const dead: string[] = [];
    const consumer = cleanup.started(createPartitionedConsumer(
      kafka,
      {
        handleBatch: async (batch) => {
          for (const m of batch.messages) dead.push(topicCodecs.deadLetter().decode(m.value!).reason);
          return null;
        },
      },
      { name: 'dlq-reader', groupId: uniqueGroupId('dlq'), topics: [topics.deadLetter] },
      testLogger('dlq'),
    ));
    await consumer.start();
    await eventually(async () => dead.length, (n) => n >= 1);
    expect(dead).toEqual([expect.stringMatching(/clickhouse rejected row/)]);
  });

  it('retries a block whose acknowledgement was lost without inserting it twice', async () => {
    let lost = 0;
    // The insert reaches ClickHouse, then the answer is "lost" (a timeout) twice: the writer retries.
    const flaky = new Proxy(db.ch.client, {
      get(target, prop, receiver) {
        if (prop !== 'insert') return Reflect.get(target, prop, receiver);
        return async (params: Parameters<ClickHouseClient['insert']>[0]) => {
          const result = await target.insert(params);
          if (lost < 2) {
            lost++;
            throw Object.assign(new Error('Timeout error.'), { code: 'ETIMEDOUT' });
          }
          return result;
        };
      },
    });
    const { topics, producer, writer } = await setup({ flushIntervalMs: 50, client: flaky });
    await send(producer, topics.sessions, Array.from({ length: 300 }, (_, i) => ({ id: `r${i}`, n: i })));
    await eventually(() => count(db.ch.client, `SELECT count() c FROM ${db.database}.probe WHERE id LIKE 'r%'`), (c) => c >= 300);
    // Stopped, the writer has flushed and committed all it will ever write: the count is final.
    await writer.stop();
    expect(lost).toBe(2);
    expect(await count(db.ch.client, `SELECT count() c FROM ${db.database}.probe WHERE id LIKE 'r%'`)).toBe(300);
  });

  it('holds a bounded buffer while ClickHouse is slow: Kafka keeps the backlog (back-pressure), and every row arrives', async () => {
    // Real ClickHouse, made slow: every insert waits 400 ms before it is sent.
    const slow = new Proxy(db.ch.client, {
      get(target, prop, receiver) {
        if (prop !== 'insert') return Reflect.get(target, prop, receiver);
        return async (params: Parameters<ClickHouseClient['insert']>[0]) => {
          await new Promise((r) => setTimeout(r, 400));
          return target.insert(params);
        };
      },
    });
    const maxBufferRows = 2_000;
    const { topics, producer, writer } = await setup({ flushIntervalMs: 50, client: slow, maxBufferRows, maxRowsPerInsert: 2_000 });
    // ~0.5 KB rows, so a fetch (kafkajs reads up to 1 MiB per partition) holds ~2,000 of them.
    const total = 40_000;
    const row = (i: number) => ({ id: `s${String(i).padStart(6, '0')}-${'x'.repeat(500)}`, n: i });
    const rowBytes = JSON.stringify(row(0)).length;
    for (let from = 0; from < total; from += 5_000) {
      await send(producer, topics.sessions, Array.from({ length: 5_000 }, (_, i) => row(from + i)));
    }
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, writer.bufferedRows())), 10);
    cleanup.defer(() => clearInterval(sampler));
    // While inserts crawl, most of the backlog stays in Kafka: the writer reads a partition again
    // only after its buffer is back under maxBufferRows.
    const midway = await eventually(() => count(db.ch.client, `SELECT count() c FROM ${db.database}.probe WHERE id LIKE 's%'`), (c) => c >= total / 4, 120_000);
    expect(midway).toBeLessThan(total);
    await eventually(() => count(db.ch.client, `SELECT count() c FROM ${db.database}.probe WHERE id LIKE 's%'`), (c) => c >= total, 240_000);
    clearInterval(sampler);
    console.info(`[writer] slow ClickHouse: peak buffered rows ${peak} of ${total} (maxBufferRows ${maxBufferRows}, 2 partitions)`);
    // Per partition: under maxBufferRows, plus one fetched batch (at most 1 MiB of rows). Never the backlog.
    const bound = 2 * (maxBufferRows + Math.ceil((1024 * 1024) / rowBytes));
    expect(peak).toBeLessThanOrEqual(bound);
    expect(bound).toBeLessThan(total / 4);
    // Stopped, the writer has flushed and committed all it will ever write: the count is final.
    await writer.stop();
    expect(await count(db.ch.client, `SELECT count() c FROM ${db.database}.probe WHERE id LIKE 's%'`)).toBe(total);
  }, 300_000);
});
