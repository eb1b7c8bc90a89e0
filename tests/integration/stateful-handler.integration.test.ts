import { describe, expect, it } from 'vitest';
import type { Admin, KafkaMessage } from 'kafkajs';
import { CHANGELOG_MAX_MESSAGE_BYTES, CHANGELOG_MIN_COMPACTION_LAG_MS, ensureTopics } from '../../services/platform/kafka/admin.js';
import { createPartitionedConsumer, ReadAgainFrom, type PartitionBatch, type PartitionControl } from '../../services/platform/kafka/consumer.js';
import { CHANGELOG_MAX_APPEND_BYTES, createKafkaProducer, type OutgoingRecord, type RecordProducer } from '../../services/platform/kafka/producer.js';
import { readPartitionRange } from '../../services/platform/kafka/read-range.js';
import { APPLIED_OFFSET_KEY } from '../../services/platform/streams/changelog.js';
import { createStatefulHandler, type PartitionProcessor, type StatefulHandlerDeps, type StateUpdate } from '../../services/platform/streams/stateful-handler.js';
import { stopAfterEach } from '../support/cleanup.js';
import { eventually } from '../support/eventually.js';
import { uniqueGroupId, uniquePrefix } from '../support/kafka.js';
import { testKafka, testLogger } from '../support/pipeline.js';

/** Counts messages per key; each message's output is the key's new count. */
/** A stateful handler over counting processors, keeping each processor it creates (one per restore). */
function countingHandler(outTopic: string, deps: Omit<StatefulHandlerDeps, 'createProcessor' | 'logger' | 'stateFlushIntervalMs'>) {
  const created: Array<ReturnType<typeof countingProcessor>> = [];
  const handler = createStatefulHandler({
    ...deps,
    createProcessor: () => {
      const p = countingProcessor(outTopic);
      created.push(p);
      return p;
    },
    logger: testLogger('stateful-it'),
    stateFlushIntervalMs: 1_000,
  });
  return { handler, created };
}

function countingProcessor(outTopic: string): PartitionProcessor & { counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const dirty = new Set<string>();
  return {
    counts,
    restore: (key, value) => void (value === null ? counts.delete(key) : counts.set(key, Number(value.toString()))),
    process(message: KafkaMessage): OutgoingRecord[] {
      const key = message.key!.toString();
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      dirty.add(key);
      return [{ topic: outTopic, key, value: Buffer.from(`${key}=${n}`) }];
    },
    tick: () => [],
    changedKeys: () => dirty.size,
    takeStateUpdates(): StateUpdate[] {
      const updates = [...dirty].map((key) => ({ key, value: Buffer.from(String(counts.get(key))) }));
      dirty.clear();
      return updates;
    },
  };
}

const batch = (topic: string, partition: number, from: number, count: number): PartitionBatch => ({
  topic,
  partition,
  highWatermark: String(from + count),
  messages: Array.from({ length: count }, (_, i) => ({
    offset: String(from + i),
    key: Buffer.from(`k${(from + i) % 3}`),
    value: Buffer.from('x'),
    timestamp: '0',
    attributes: 0,
    headers: {},
  })),
});

const control: PartitionControl = { heartbeat: async () => {}, commit: async () => {}, progress: async () => {} };

describe('stateful handler on the real broker', () => {
  const kafka = testKafka('stateful-handler');
  const cleanup = stopAfterEach();

  const setup = async () => {
    const prefix = uniquePrefix();
    const topics = { input: `${prefix}in`, changelog: `${prefix}changelog`, out: `${prefix}out` };
    await ensureTopics(kafka, [
      { topic: topics.changelog, partitions: 2, compacted: true },
      { topic: topics.out, partitions: 1 },
      { topic: topics.input, partitions: 1 },
    ]);
    const producer = createKafkaProducer(kafka, { name: 'stateful-it' });
    await producer.start();
    cleanup.started(producer);
    const read = async (topic: string, partition: number) => {
      const records: Array<[string, string]> = [];
      const admin = kafka.admin();
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
      const end = BigInt(offsets.find((o) => o.partition === partition)!.high);
      await readPartitionRange(kafka, { topic, partition, from: 0n, to: end }, (m) => records.push([m.key!.toString(), m.value!.toString()]));
      return records;
    };
    return { topics, producer, read };
  };

  it('writes each changed key once per flush interval, with the marker, after every output is acknowledged', async () => {
    const { topics, producer, read } = await setup();
    let now = 0;
    const handler = createStatefulHandler({ kafka, producer, changelogTopic: topics.changelog, createProcessor: () => countingProcessor(topics.out), now: () => now, logger: testLogger('stateful-it'), stateFlushIntervalMs: 1_000 });
    const tp = { topic: topics.input, partition: 1 };
    await handler.onAssigned!(tp, { offset: '-1', metadata: null });
    // Within the interval: outputs go, state waits.
    expect(await handler.handleBatch(batch(tp.topic, 1, 0, 300), control)).toBeNull();
    now = 1_000;
    expect(await handler.handleBatch(batch(tp.topic, 1, 300, 300), control)).toEqual({ offset: '600' });
    // Three keys changed 600 times between them: three state records and one marker.
    expect(await read(topics.changelog, 1)).toEqual([
      ['k0', '200'],
      ['k1', '200'],
      ['k2', '200'],
      [APPLIED_OFFSET_KEY, '599'],
    ]);
    expect((await read(topics.out, 0)).length).toBe(600);
  });

  it('flushes a partition whose input stopped after a quiet second, without waiting for the interval', async () => {
    const { topics, producer, read } = await setup();
    let now = 0;
    const handler = createStatefulHandler({ kafka, producer, changelogTopic: topics.changelog, createProcessor: () => countingProcessor(topics.out), now: () => now, logger: testLogger('stateful-it'), stateFlushIntervalMs: 60_000 });
    const tp = { topic: topics.input, partition: 0 };
    await handler.onAssigned!(tp, { offset: '-1', metadata: null });
    expect(await handler.handleBatch(batch(tp.topic, 0, 0, 30), control)).toBeNull();
    now = 500;
    expect(await handler.handleBatch(batch(tp.topic, 0, 30, 30), control)).toBeNull();
    // Input came 500 ms ago: not quiet yet.
    now = 1_000;
    expect(await handler.onIdle!(tp, control)).toBeNull();
    expect(await read(topics.changelog, 0)).toEqual([]);
    now = 1_500;
    expect(await handler.onIdle!(tp, control)).toEqual({ offset: '60' });
    expect(await read(topics.changelog, 0)).toEqual([
      ['k0', '20'],
      ['k1', '20'],
      ['k2', '20'],
      [APPLIED_OFFSET_KEY, '59'],
    ]);
    // Flushed and still quiet: nothing more until new input (or the interval).
    now = 5_000;
    expect(await handler.onIdle!(tp, control)).toBeNull();
    expect(await read(topics.changelog, 0)).toHaveLength(4);
  });

  it('commits input that changed no state, with the marker alone (a group that must pass it is not held up)', async () => {
    const { topics, producer, read } = await setup();
    let now = 0;
    const noOps: PartitionProcessor = { restore: () => {}, process: () => [], tick: () => [], changedKeys: () => 0, takeStateUpdates: () => [] };
    const handler = createStatefulHandler({ kafka, producer, changelogTopic: topics.changelog, createProcessor: () => noOps, now: () => now, logger: testLogger('stateful-it'), stateFlushIntervalMs: 1_000 });
    const tp = { topic: topics.input, partition: 0 };
    await handler.onAssigned!(tp, { offset: '-1', metadata: null });
    now = 1_000;
    expect(await handler.handleBatch(batch(tp.topic, 0, 0, 4), control)).toEqual({ offset: '4' });
    expect(await read(topics.changelog, 0)).toEqual([[APPLIED_OFFSET_KEY, '3']]);
    // Nothing new since: nothing written, nothing to commit.
    now = 2_000;
    expect(await handler.onIdle!(tp, control)).toBeNull();
    expect(await read(topics.changelog, 0)).toHaveLength(1);
  });

  it('asks to read again from the next input its state expects when a batch begins after it, once; then says the input is gone', async () => {
    const { topics, producer } = await setup();
    let now = 0;
    const gaps: Array<{ handled: bigint; first: bigint; readAgain: boolean }> = [];
    const deps = { kafka, producer, changelogTopic: topics.changelog, now: () => now, onInputGap: (_tp: unknown, gap: { handled: bigint; first: bigint; readAgain: boolean }) => gaps.push(gap) };
    const { handler } = countingHandler(topics.out, deps);
    const tp = { topic: topics.input, partition: 0 };
    await handler.onAssigned!(tp, { offset: '-1', metadata: null });
    now = 1_000;
    expect(await handler.handleBatch(batch(tp.topic, 0, 0, 10), control)).toEqual({ offset: '10' });
    expect(await handler.handleBatch(batch(tp.topic, 0, 10, 5), control)).toBeNull();
    // A batch read again from before the state's offset is no gap either.
    expect(await handler.handleBatch(batch(tp.topic, 0, 12, 5), control)).toBeNull();
    expect(gaps).toEqual([]);
    // A restarted member restores (applied offset 9) while the group has gone on to 20.
    const restarted = countingHandler(topics.out, deps);
    await restarted.handler.onAssigned!(tp, { offset: '20', metadata: null });
    await expect(restarted.handler.handleBatch(batch(tp.topic, 0, 20, 5), control)).rejects.toEqual(new ReadAgainFrom('10'));
    expect(gaps).toEqual([{ handled: 9n, first: 20n, readAgain: true }]);
    expect(restarted.created.at(-1)!.counts.size).toBe(3);
    // Read again from 10, the batch begins there: processed, no gap.
    await restarted.handler.handleBatch(batch(tp.topic, 0, 10, 15), control);
    expect(gaps).toHaveLength(1);
    expect([...restarted.created.at(-1)!.counts.values()].reduce((a, b) => a + b)).toBe(25);
    // A gap the log cannot fill (read again, still past it): said once more, then processed.
    const again = countingHandler(topics.out, deps);
    await again.handler.onAssigned!(tp, { offset: '40', metadata: null });
    await expect(again.handler.handleBatch(batch(tp.topic, 0, 40, 5), control)).rejects.toBeInstanceOf(ReadAgainFrom);
    await again.handler.handleBatch(batch(tp.topic, 0, 40, 5), control);
    expect(gaps.slice(1)).toEqual([
      { handled: 9n, first: 40n, readAgain: true },
      { handled: 9n, first: 40n, readAgain: false },
    ]);
  });

  it('after an output send fails, the partition starts again from the changelog and applies nothing twice', async () => {
    const { topics, producer, read } = await setup();
    let now = 0;
    let failOutputs = false;
    const outputs: RecordProducer = { send: (records) => (failOutputs ? Promise.reject(new Error('broker said no')) : producer.send(records)) };
    const { handler, created } = countingHandler(topics.out, { kafka, producer, outputs, changelogTopic: topics.changelog, now: () => now });
    const tp = { topic: topics.input, partition: 0 };
    await handler.onAssigned!(tp, { offset: '-1', metadata: null });
    now = 1_000;
    expect(await handler.handleBatch(batch(tp.topic, 0, 0, 300), control)).toEqual({ offset: '300' });
    failOutputs = true;
    // Handled in memory; its outputs fail in the background.
    expect(await handler.handleBatch(batch(tp.topic, 0, 300, 300), control)).toBeNull();
    failOutputs = false;
    await expect(handler.handleBatch(batch(tp.topic, 0, 600, 300), control)).rejects.toThrow('broker said no');
    // The consumer reads again from the durable point (300): the state comes back from the changelog.
    now = 2_000;
    expect(await handler.handleBatch(batch(tp.topic, 0, 300, 600), control)).toBeNull();
    now = 3_000;
    expect(await handler.onIdle!(tp, control)).toEqual({ offset: '900' });
    expect(created).toHaveLength(2);
    expect(Object.fromEntries(created[1]!.counts)).toEqual({ k0: 300, k1: 300, k2: 300 });
    const changelog = await read(topics.changelog, 0);
    expect(changelog.at(-1)).toEqual([APPLIED_OFFSET_KEY, '899']);
    // Outputs: 300 before the failure, then 600 after it (the failed ones were never written).
    expect((await read(topics.out, 0)).length).toBe(900);
  });

  it('a flush over one request goes as several appends, marker last; an unfinished one is rolled back and nothing applies twice', async () => {
    const { topics, producer, read } = await setup();
    let now = 0;
    /** Fails the changelog sends from this one on (1-based count of sends), once armed. */
    let failFrom = Infinity;
    let sends = 0;
    const changelogProducer: RecordProducer = {
      send: (records) => (++sends >= failFrom ? Promise.reject(new Error('broker gone mid-flush')) : producer.send(records)),
    };
    const splits: number[] = [];
    const { handler, created } = countingHandler(topics.out, {
      kafka,
      producer: changelogProducer,
      outputs: producer,
      changelogTopic: topics.changelog,
      now: () => now,
      // About two state records per append: three keys and the marker take three appends.
      maxAppendBytes: 150,
      onSplitFlush: (_tp, stats) => splits.push(stats.appends),
    });
    const tp = { topic: topics.input, partition: 0 };
    await handler.onAssigned!(tp, { offset: '-1', metadata: null });
    now = 1_000;
    expect(await handler.handleBatch(batch(tp.topic, 0, 0, 300), control)).toEqual({ offset: '300' });
    expect(splits).toEqual([3]);
    expect(await read(topics.changelog, 0)).toEqual([
      ['k0', '100'],
      ['k1', '100'],
      ['k2', '100'],
      [APPLIED_OFFSET_KEY, '299'],
    ]);
    // The next flush's first append lands, the second fails: k0 and k1 are in the changelog ahead of the marker.
    failFrom = sends + 2;
    now = 2_000;
    await expect(handler.handleBatch(batch(tp.topic, 0, 300, 300), control)).rejects.toThrow('broker gone mid-flush');
    expect((await read(topics.changelog, 0)).slice(4)).toEqual([
      ['k0', '200'],
      ['k1', '200'],
    ]);
    // Read again from the durable point (300): the restore leaves the unfinished flush out.
    failFrom = Infinity;
    now = 3_000;
    expect(await handler.handleBatch(batch(tp.topic, 0, 300, 300), control)).toBeNull();
    now = 4_000;
    expect(await handler.onIdle!(tp, control)).toEqual({ offset: '600' });
    expect(Object.fromEntries(created[1]!.counts)).toEqual({ k0: 200, k1: 200, k2: 200 });
    // The flush after the restore wrote the committed values back first, so a later restore agrees.
    await handler.onRevoked!(tp);
    await handler.onAssigned!(tp, { offset: '600', metadata: null });
    expect(Object.fromEntries(created[2]!.counts)).toEqual({ k0: 200, k1: 200, k2: 200 });
    expect((await read(topics.changelog, 0)).slice(6, 8)).toEqual([
      ['k0', '100'],
      ['k1', '100'],
    ]);
  });

  /**
   * 40 keys whose state records are padded to 150 KB each: a flush of all of them is ~6 MB, eight
   * times a default produce request, six times the broker's default batch limit, and more than a
   * restore's fetch asks for (4 MiB).
   */
  const paddedHandler = (topics: { out: string; changelog: string }, producer: RecordProducer, now: () => number, splits: number[]) => {
    const created: Array<ReturnType<typeof countingProcessor>> = [];
    const handler = createStatefulHandler({
      kafka,
      producer,
      changelogTopic: topics.changelog,
      createProcessor: () => {
        const p = countingProcessor(topics.out);
        created.push(p);
        return { ...p, takeStateUpdates: () => p.takeStateUpdates().map((u) => ({ key: u.key, value: Buffer.concat([u.value!, Buffer.alloc(150_000, 32)]) })) };
      },
      now,
      logger: testLogger('stateful-it'),
      stateFlushIntervalMs: 1_000,
      onSplitFlush: (_tp, stats) => splits.push(stats.appends),
    });
    return { handler, created };
  };
  const fortyKeys = (topic: string, from: number, count: number): PartitionBatch => {
    const b = batch(topic, 0, from, count);
    return { ...b, messages: b.messages.map((m) => ({ ...m, key: Buffer.from(`k${Number(m.offset) % 40}`) })) };
  };
  const withAdmin = async <T,>(use: (admin: Admin) => Promise<T>): Promise<T> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await use(admin);
    } finally {
      await admin.disconnect();
    }
  };
  /** A producer that tells how many records each send to the changelog held. */
  const countingSends = (producer: RecordProducer, changelog: string, sends: number[]): RecordProducer => ({
    send: (records, maxRequestBytes) => {
      if (records.some((r) => r.topic === changelog)) sends.push(records.length);
      return producer.send(records, maxRequestBytes);
    },
  });

  it('a flush of megabytes of state is one append: one send, one batch the changelog takes whole, nothing split', async () => {
    const { topics, producer, read } = await setup();
    let now = 0;
    const sends: number[] = [];
    const splits: number[] = [];
    const { handler, created } = paddedHandler(topics, countingSends(producer, topics.changelog, sends), () => now, splits);
    const tp = { topic: topics.input, partition: 0 };
    await handler.onAssigned!(tp, { offset: '-1', metadata: null });
    now = 1_000;
    expect(await handler.handleBatch(fortyKeys(tp.topic, 0, 400), control)).toEqual({ offset: '400' });
    // 40 state records and the marker in one send; the broker took the ~6 MB batch.
    expect(sends).toEqual([41]);
    expect(splits).toEqual([]);
    const changelog = await read(topics.changelog, 0);
    expect(changelog).toHaveLength(41);
    expect(changelog.at(-1)).toEqual([APPLIED_OFFSET_KEY, '399']);
    // A restore reads it back (its fetches ask for less than the batch: the broker sends it whole).
    await handler.onRevoked!(tp);
    await handler.onAssigned!(tp, { offset: '400', metadata: null });
    expect(created[1]!.counts.size).toBe(40);
    expect([...created[1]!.counts.values()].every((n) => n === 10)).toBe(true);
  });

  it('a changelog that takes only the default batch (created by an older version) gets split flushes, not a failing loop', async () => {
    const prefix = uniquePrefix();
    const topics = { input: `${prefix}in`, changelog: `${prefix}changelog`, out: `${prefix}out` };
    await ensureTopics(kafka, [
      { topic: topics.out, partitions: 1 },
      { topic: topics.input, partitions: 1 },
    ]);
    // Partition 1 is never a state partition here: it takes the probe below.
    await withAdmin((a) => a.createTopics({ waitForLeaders: true, topics: [{ topic: topics.changelog, numPartitions: 2, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] }));
    const producer = createKafkaProducer(kafka, { name: 'stateful-it' });
    await producer.start();
    cleanup.started(producer);
    let now = 0;
    const splits: number[] = [];
    const { handler, created } = paddedHandler(topics, producer, () => now, splits);
    const tp = { topic: topics.input, partition: 0 };
    await handler.onAssigned!(tp, { offset: '-1', metadata: null });
    now = 1_000;
    expect(await handler.handleBatch(fortyKeys(tp.topic, 0, 400), control)).toEqual({ offset: '400' });
    now = 2_000;
    expect(await handler.handleBatch(fortyKeys(tp.topic, 400, 400), control)).toEqual({ offset: '800' });
    // Refused whole once, then appends of at most 768 KiB: eight of five records (the marker in the last), every flush.
    expect(splits).toEqual([8, 8]);
    await handler.onRevoked!(tp);
    await handler.onAssigned!(tp, { offset: '800', metadata: null });
    expect([...created.at(-1)!.counts.values()]).toEqual(Array.from({ length: 40 }, () => 20));

    // The next start's ensureTopics raises the old changelog's limits and keeps its own settings;
    // a handler started after it flushes in one append again.
    await ensureTopics(kafka, [{ topic: topics.changelog, partitions: 2, compacted: true }]);
    const described = await withAdmin((a) => a.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topics.changelog }] }));
    const config = Object.fromEntries(described.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
    expect(config).toMatchObject({ 'cleanup.policy': 'compact', 'max.message.bytes': String(CHANGELOG_MAX_MESSAGE_BYTES), 'min.compaction.lag.ms': String(CHANGELOG_MIN_COMPACTION_LAG_MS) });
    // The partitions' logs take a changed setting a moment after the broker reports it: wait until
    // partition 1 takes a 2 MB batch.
    const probe = [0, 1, 2].map((i) => ({ topic: topics.changelog, key: `probe-${i}`, value: Buffer.alloc(700_000), partition: 1 }));
    await eventually(
      () => producer.send(probe, CHANGELOG_MAX_APPEND_BYTES).then(() => true, () => false),
      (took) => took,
      30_000,
      200,
      'the raised max.message.bytes in force',
    );
    const after = paddedHandler(topics, producer, () => now, splits);
    await after.handler.onAssigned!(tp, { offset: '800', metadata: null });
    now = 3_000;
    expect(await after.handler.handleBatch(fortyKeys(tp.topic, 800, 400), control)).toEqual({ offset: '1200' });
    expect(splits).toEqual([8, 8]);
    await after.handler.onRevoked!(tp);
  });

  it('the consumer reads a failed partition again from its newest durable point (rewindOnFailure)', async () => {
    const { topics, producer } = await setup();
    await producer.send(Array.from({ length: 100 }, (_, i) => ({ topic: topics.input, key: `k${i}`, value: Buffer.from('x'), partition: 0 })));
    const firstOffsets: number[] = [];
    let failed = false;
    const consumer = createPartitionedConsumer(
      kafka,
      {
        async handleBatch(b) {
          const first = Number(b.messages[0]!.offset);
          firstOffsets.push(first);
          if (first === 0) return { offset: '10' }; // durable up to 10 only (a stateful step between flushes)
          if (first >= 100 && !failed) {
            failed = true;
            throw new Error('flush failed');
          }
          return null;
        },
      },
      { name: 'rewind-it', groupId: uniqueGroupId('rewind'), topics: [topics.input], rewindOnFailure: true, commitIntervalMs: 0 },
      testLogger('rewind-it'),
    );
    cleanup.started(consumer);
    await consumer.start();
    await eventually(() => firstOffsets.length, (n) => n >= 1, 60_000, 100, 'first batch');
    await producer.send(Array.from({ length: 100 }, (_, i) => ({ topic: topics.input, key: `k${i}`, value: Buffer.from('y'), partition: 0 })));
    const seen = await eventually(() => [...firstOffsets], (o) => failed && o.length >= 3, 60_000, 100, 'a batch after the failure');
    // Without the rewind kafkajs would fetch again from 100, after the last batch it handed out.
    expect(seen[2]).toBe(10);
  });

  it('the consumer reads a partition again from where a handler’s state says (ReadAgainFrom), ahead of what the group committed', async () => {
    const { topics, producer } = await setup();
    await producer.send(Array.from({ length: 100 }, (_, i) => ({ topic: topics.input, key: `k${i}`, value: Buffer.from('x'), partition: 0 })));
    const groupId = uniqueGroupId('read-again');
    const admin = kafka.admin();
    await admin.connect();
    // The group went on to 50; the state restored below has applied only up to 2.
    await admin.setOffsets({ groupId, topic: topics.input, partitions: [{ partition: 0, offset: '50' }] }).finally(() => admin.disconnect());
    const firstOffsets: number[] = [];
    const consumer = createPartitionedConsumer(
      kafka,
      {
        async handleBatch(b) {
          const first = Number(b.messages[0]!.offset);
          firstOffsets.push(first);
          if (first > 3) throw new ReadAgainFrom('3');
          return { offset: b.messages.at(-1)!.offset };
        },
      },
      { name: 'read-again-it', groupId, topics: [topics.input], rewindOnFailure: true, commitIntervalMs: 0 },
      testLogger('read-again-it'),
    );
    cleanup.started(consumer);
    await consumer.start();
    const seen = await eventually(() => [...firstOffsets], (o) => o.length >= 2, 60_000, 100, 'a batch after the read again');
    expect(seen.slice(0, 2)).toEqual([50, 3]);
  });
});
