import type { KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JourneyRecord } from '../../schemas/journey.js';
import type { Touchpoint } from '../../schemas/touchpoint.js';
import { topicCodecs, topicsWithPrefix } from '../../schemas/topics.js';
import { HISTORY_MARKER_HEADER, HISTORY_MARKER_KEY, historyMarkerValue, type HistoryMarker } from '../../schemas/history-marker.js';
import { MAX_REQUEST_BYTES, recordBytes, type OutgoingRecord, type RecordProducer } from '../platform/kafka/producer.js';
import { touchpoint } from './core/test-touchpoint.js';
import { createLogger } from '../platform/logging/logger.js';
import { createIdentityRouter } from './identity-router.js';
import { RetryWindowCopy } from './retry-window-copy.js';
import { openLocalStateLog } from '../platform/streams/local-state-log.js';
import type { createIdentityTable } from './identity-table.js';
import { identityTableInMemory } from '../../tests/support/identity-table-in-memory.js';

const topics = topicsWithPrefix('t.');
const tpCodec = topicCodecs.touchpoints();
const recordCodec = topicCodecs.identifiedTouchpoints();

const silent = createLogger('test', 'silent');
/** The identity table in memory; `fromTopic`: what a restarted instance reads back. */
const tableInMemory = (fromTopic: OutgoingRecord[] = []) => identityTableInMemory(topics.identityLinks, fromTopic);

function setup(
  failSends: number,
  options: { table?: ReturnType<typeof createIdentityTable>; failOnCall?: number; input?: KafkaMessage[]; windowCopyDir?: string; emptyInput?: boolean; producer?: RecordProducer } = {},
) {
  const emptyInput = options.emptyInput ?? false;
  const sent: OutgoingRecord[][] = [];
  const inputRead: string[] = [];
  let failures = failSends;
  let calls = 0;
  const router = createIdentityRouter({
    topics,
    table: options.table ?? tableInMemory(),
    producer: options.producer ?? {
      send: async (records) => {
        calls++;
        if (failures-- > 0 || calls === options.failOnCall) throw new Error('broker down');
        sent.push(records);
      },
    },
    touchpointCodec: tpCodec,
    recordCodec,
    linkOptions: {},
    recentMessagesPerPartition: 1_000,
    readRange: async (_partition, from, to, onMessage) => {
      for (const m of options.input ?? []) {
        if (BigInt(m.offset) < to && BigInt(m.offset) >= from) {
          inputRead.push(m.offset);
          onMessage(m);
        }
      }
    },
    openWindowCopy: options.windowCopyDir === undefined ? undefined : (input) => new RetryWindowCopy(openLocalStateLog(join(options.windowCopyDir!, `window-${input.partition}.log`), silent)!, 1_000),
    outputPartitions: async () => 2,
    inputPartitions: async () => 2,
    inputIsEmpty: async () => emptyInput,
    registry: new Registry(),
    logger: silent,
    now: () => 0,
  });
  return { router, sent, inputRead };
}

const message = (offset: number, tp: Touchpoint): KafkaMessage =>
  ({ offset: String(offset), key: null, value: tpCodec.encode(tp), timestamp: '0', attributes: 0, headers: {} }) as KafkaMessage;

/** What the router sent to identified-touchpoints, as `kind:customer` in send order. */
const routed = (records: OutgoingRecord[]) =>
  records
    .filter((r) => r.topic === topics.identifiedTouchpoints)
    .map((r) => recordCodec.decode(r.value as Buffer) as JourneyRecord)
    .filter((r) => r.kind !== 'watermark')
    .map((r) => (r.kind === 'merge' ? `merge:${r.customerId}>${r.mergeInto}` : `${r.kind}:${r.customerId}`));

const batch = [
  message(0, touchpoint({ messageId: 'm0', anonymousId: 'a1' })),
  message(1, touchpoint({ messageId: 'm1', anonymousId: 'a1', userId: 'u1', type: 'identify' })),
  message(2, touchpoint({ messageId: 'm2', anonymousId: 'a1', userId: 'u1' })),
];

const control = { heartbeat: async () => {}, commit: async () => {}, progress: async () => {} };

/** A batch as the consumer hands it, then a stop's flush: the batch's work is durable (or the flush rejects). */
const routeDurably = async (router: ReturnType<typeof createIdentityRouter>, b: { topic: string; partition: number; messages: KafkaMessage[]; highWatermark: string }) => {
  await router.handleBatch(b, control);
  return router.flush({ topic: b.topic, partition: b.partition });
};

describe('identity router', () => {
  it('sends a merge notice after the absorbed customer’s earlier touchpoints of the same batch', async () => {
    const { router, sent } = setup(0);
    await routeDurably(router, { topic: topics.touchpoints, partition: 0, messages: batch, highWatermark: '3' });
    expect(routed(sent.flat())).toEqual(['touchpoint:a:a1', 'merge:a:a1>u:u1', 'absorbing:u:u1', 'touchpoint:u:u1', 'touchpoint:u:u1']);
  });

  it('re-sends the merge notice of a failed send at the same place when the batch is retried', async () => {
    const { router, sent } = setup(1);
    await expect(routeDurably(router, { topic: topics.touchpoints, partition: 0, messages: batch, highWatermark: '3' })).rejects.toThrow('broker down');
    // The consumer reads the partition again from its durable point (rewindOnFailure).
    await routeDurably(router, { topic: topics.touchpoints, partition: 0, messages: batch, highWatermark: '3' });
    // m0 is routed to a:a1 again: the retry rebuilds the same sequence, not the post-merge view.
    expect(routed(sent.flat())).toEqual(['touchpoint:a:a1', 'merge:a:a1>u:u1', 'absorbing:u:u1', 'touchpoint:u:u1', 'touchpoint:u:u1']);
    expect(sent.flat().filter((r) => r.topic === topics.identityLinks).length).toBeGreaterThan(0);
  });

  const whole = { topic: topics.touchpoints, partition: 0, messages: batch, highWatermark: '3' };

  it('after a crash between its outputs and its links, a restarted router routes the batch exactly as the first time', async () => {
    // The first instance sends its outputs, then dies before the links reach the table topic.
    const first = setup(0, { failOnCall: 2 });
    await expect(routeDurably(first.router, whole)).rejects.toThrow();
    const restarted = setup(0, { table: tableInMemory(first.sent.flat()) });
    await routeDurably(restarted.router, whole);
    expect(routed(restarted.sent.flat())).toEqual(routed(first.sent.flat()));
    expect(routed(restarted.sent.flat())).toEqual(['touchpoint:a:a1', 'merge:a:a1>u:u1', 'absorbing:u:u1', 'touchpoint:u:u1', 'touchpoint:u:u1']);
  });

  it('skips a batch whose links and marker were sent before the crash, instead of routing it with its own links', async () => {
    const first = setup(0);
    expect(await routeDurably(first.router, whole)).toEqual({ offset: '3' });
    const restarted = setup(0, { table: tableInMemory(first.sent.flat()) });
    expect(await restarted.router.handleBatch(whole, control)).toEqual({ offset: '3' });
    expect(routed(restarted.sent.flat())).toEqual([]);
  });

  it('rebuilds its retry window from the input on assignment: a retry whose first copy preceded a restart is still dropped', async () => {
    // m0 was routed (and committed, offset 3) before the restart; its SDK retry arrives after it,
    // when the graph already links a1 to u1. Routed again, it would land on u:u1 as well as a:a1.
    const retry = message(3, touchpoint({ messageId: 'm0', anonymousId: 'a1' }));
    const first = setup(0);
    await routeDurably(first.router, whole);
    const restarted = setup(0, { table: tableInMemory(first.sent.flat()), input: batch });
    await restarted.router.onAssigned!({ topic: topics.touchpoints, partition: 0 }, { offset: '3', metadata: null });
    await routeDurably(restarted.router, { ...whole, messages: [retry], highWatermark: '4' });
    expect(routed(restarted.sent.flat())).toEqual([]);
  });

  describe('retry window from the local copy', () => {
    const dirs: string[] = [];
    afterEach(() => {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    });
    const tempDir = () => {
      const dir = mkdtempSync(join(tmpdir(), 'router-window-'));
      dirs.push(dir);
      return dir;
    };
    const tp0 = { topic: topics.touchpoints, partition: 0 };
    const retry = message(3, touchpoint({ messageId: 'm0', anonymousId: 'a1' }));

    it('a restart takes the window from the copy, reads nothing of the input, and still drops a retry of a routed touchpoint', async () => {
      const windowCopyDir = tempDir();
      const first = setup(0, { windowCopyDir });
      await first.router.onAssigned!(tp0, { offset: '-1', metadata: null });
      await routeDurably(first.router, whole);
      await first.router.onRevoked!(tp0);
      const restarted = setup(0, { table: tableInMemory(first.sent.flat()), input: batch, windowCopyDir });
      await restarted.router.onAssigned!(tp0, { offset: '3', metadata: null });
      expect(restarted.inputRead).toEqual([]);
      await routeDurably(restarted.router, { ...whole, messages: [retry], highWatermark: '4' });
      expect(routed(restarted.sent.flat())).toEqual([]);
    });

    it('reads from the input only what the copy lacks (another instance routed it)', async () => {
      const windowCopyDir = tempDir();
      const first = setup(0, { windowCopyDir });
      await first.router.onAssigned!(tp0, { offset: '-1', metadata: null });
      await routeDurably(first.router, { ...whole, messages: batch.slice(0, 1), highWatermark: '3' });
      await first.router.onRevoked!(tp0);
      // Offsets 1 and 2 were routed elsewhere: the copy ends at 1.
      const elsewhere = setup(0, { table: tableInMemory(first.sent.flat()) });
      await routeDurably(elsewhere.router, { ...whole, messages: batch.slice(1), highWatermark: '3' });
      const restarted = setup(0, { table: tableInMemory([...first.sent.flat(), ...elsewhere.sent.flat()]), input: batch, windowCopyDir });
      await restarted.router.onAssigned!(tp0, { offset: '3', metadata: null });
      expect(restarted.inputRead).toEqual(['1', '2']);
      await routeDurably(restarted.router, { ...whole, messages: [retry, message(4, touchpoint({ messageId: 'm2', anonymousId: 'a1', userId: 'u1' }))], highWatermark: '5' });
      expect(routed(restarted.sent.flat())).toEqual([]);
    });

    it('ignores a copy that goes past where routing resumes: those touchpoints are routed again, not dropped as seen', async () => {
      const windowCopyDir = tempDir();
      const first = setup(0, { windowCopyDir });
      await first.router.onAssigned!(tp0, { offset: '-1', metadata: null });
      await routeDurably(first.router, whole);
      await first.router.onRevoked!(tp0);
      // The new owner resumes at 0 (say its marker and commits were lost with the topic's history).
      const restarted = setup(0, { input: [], windowCopyDir });
      await restarted.router.onAssigned!(tp0, { offset: '-1', metadata: null });
      await routeDurably(restarted.router, whole);
      expect(routed(restarted.sent.flat())).toEqual(['touchpoint:a:a1', 'merge:a:a1>u:u1', 'absorbing:u:u1', 'touchpoint:u:u1', 'touchpoint:u:u1']);
    });
  });

  describe('event-time watermarks', () => {
    const at = (offset: number, timestamp: number, messageId = `w${offset}`) => message(offset, touchpoint({ messageId, anonymousId: `x${offset}`, timestamp }));
    // Out of order: 7_000 arrives after 9_000.
    const timed = [at(0, 5_000), at(1, 9_000), at(2, 7_000), at(3, 12_000)];
    const decoded = (records: OutgoingRecord[]) =>
      records.filter((r) => r.topic === topics.identifiedTouchpoints).map((r) => ({ partition: r.partition, record: recordCodec.decode(r.value as Buffer) as JourneyRecord }));

    it('each touchpoint carries its input partition and that partition’s max event time before it; each output partition gets the watermark', async () => {
      const { router, sent } = setup(0);
      await routeDurably(router, { topic: topics.touchpoints, partition: 0, messages: timed, highWatermark: '4' });
      const out = decoded(sent.flat());
      const touchpoints = out.filter((o) => o.record.kind === 'touchpoint').map((o) => [o.record.source, o.record.sourceWatermark]);
      // The first has nothing before it: its own time.
      expect(touchpoints).toEqual([[0, 5_000], [0, 5_000], [0, 9_000], [0, 9_000]]);
      const marks = out.filter((o) => o.record.kind === 'watermark').map((o) => [o.partition, o.record.source, o.record.sourceWatermark]);
      expect(marks).toEqual([[0, 0, 12_000], [1, 0, 12_000]]);
    });

    it('a retried batch and a restarted router carry the same watermarks as the first attempt', async () => {
      const once = setup(0);
      await routeDurably(once.router, { topic: topics.touchpoints, partition: 0, messages: timed.slice(0, 2), highWatermark: '4' });
      await routeDurably(once.router, { topic: topics.touchpoints, partition: 0, messages: timed.slice(2), highWatermark: '4' });
      const expected = decoded(once.sent.flat()).filter((o) => o.record.kind === 'touchpoint').map((o) => o.record.sourceWatermark);

      const second = { topic: topics.touchpoints, partition: 0, messages: timed.slice(2), highWatermark: '4' };
      const crashed = setup(1);
      await expect(routeDurably(crashed.router, { topic: topics.touchpoints, partition: 0, messages: timed.slice(0, 2), highWatermark: '4' })).rejects.toThrow('broker down');
      await routeDurably(crashed.router, { topic: topics.touchpoints, partition: 0, messages: timed.slice(0, 2), highWatermark: '4' });
      // A new instance resumes from the marker the first instance wrote after its first batch.
      const restarted = setup(0, { table: tableInMemory(crashed.sent.flat()) });
      await routeDurably(restarted.router, second);
      const replayed = [...decoded(crashed.sent.flat()), ...decoded(restarted.sent.flat())].filter((o) => o.record.kind === 'touchpoint').map((o) => o.record.sourceWatermark);
      expect(replayed).toEqual(expected);
    });
  });

  describe('an input partition with nothing in it', () => {
    const tp0 = { topic: topics.touchpoints, partition: 0 };
    /** What is said of partition 0 (the stub's inputIsEmpty answers for partition 1 too, which has a test of its own below). */
    const notices = (records: OutgoingRecord[]) =>
      records
        .filter((r) => r.topic === topics.identifiedTouchpoints)
        .map((r) => ({ partition: r.partition, record: recordCodec.decode(r.value as Buffer) as JourneyRecord }))
        .filter((n) => n.record.source === 0);

    it('tells every output partition it is empty (a watermark record without a watermark), so the sessions stage does not wait for it', async () => {
      const { router, sent } = setup(0, { emptyInput: true });
      await router.onAssigned!(tp0, { offset: '-1', metadata: null });
      await router.onIdle!(tp0, control);
      expect(notices(sent.flat()).map((n) => [n.partition, n.record.kind, n.record.source, n.record.sourceWatermark])).toEqual([
        [0, 'watermark', 0, null],
        [1, 'watermark', 0, null],
      ]);
    });

    it('says nothing when the partition holds touchpoints not routed yet, nor once it has routed one', async () => {
      const filling = setup(0, { emptyInput: false });
      await filling.router.onAssigned!(tp0, { offset: '-1', metadata: null });
      await filling.router.onIdle!(tp0, control);
      expect(notices(filling.sent.flat())).toEqual([]);

      const used = setup(0, { emptyInput: true });
      await used.router.onAssigned!(tp0, { offset: '-1', metadata: null });
      await routeDurably(used.router, whole);
      await used.router.onIdle!(tp0, control);
      expect(notices(used.sent.flat()).filter((n) => n.record.kind === 'watermark' && n.record.sourceWatermark == null)).toEqual([]);
    });
  });

  describe('a live input partition never written (never fetched, so never assigned to the handler)', () => {
    const tp0 = { topic: topics.touchpoints, partition: 0 };
    const emptyNotices = (records: OutgoingRecord[]) =>
      records
        .filter((r) => r.topic === topics.identifiedTouchpoints)
        .map((r) => ({ partition: r.partition, record: recordCodec.decode(r.value as Buffer) as JourneyRecord }))
        .filter((n) => n.record.kind === 'watermark' && n.record.sourceWatermark == null)
        .map((n) => `${n.record.source}→${n.partition}`);

    it('is said empty, once, by an instance that has another partition to tick: the journey step does not wait for it', async () => {
      // Only partition 0 has touchpoints; the consumer never hands this router partition 1.
      const { router, sent } = setup(0, { emptyInput: true });
      await router.onAssigned!(tp0, { offset: '-1', metadata: null });
      await routeDurably(router, whole);
      await router.onIdle!(tp0, control);
      await router.flush(tp0);
      // Live partition 1 (source 1) to both journey partitions; never the history lane's (sources 2, 3).
      expect(emptyNotices(sent.flat())).toEqual(['1→0', '1→1']);
      await router.onIdle!(tp0, control);
      await router.flush(tp0);
      expect(emptyNotices(sent.flat())).toEqual(['1→0', '1→1']);
    });

    it('says nothing of a live partition another instance has routed, nor of one with touchpoints not routed yet', async () => {
      const other = setup(0, { emptyInput: true });
      await routeDurably(other.router, { topic: topics.touchpoints, partition: 1, messages: batch, highWatermark: '3' });
      const routedElsewhere = setup(0, { emptyInput: true, table: tableInMemory(other.sent.flat()) });
      await routedElsewhere.router.onAssigned!(tp0, { offset: '-1', metadata: null });
      await routeDurably(routedElsewhere.router, whole);
      await routedElsewhere.router.onIdle!(tp0, control);
      await routedElsewhere.router.flush(tp0);
      expect(emptyNotices(routedElsewhere.sent.flat())).toEqual([]);

      const filling = setup(0, { emptyInput: false });
      await filling.router.onAssigned!(tp0, { offset: '-1', metadata: null });
      await routeDurably(filling.router, whole);
      await filling.router.onIdle!(tp0, control);
      await filling.router.flush(tp0);
      expect(emptyNotices(filling.sent.flat())).toEqual([]);
    });
  });

  describe('the history lane (touchpoints-history, docs/history-lane.md)', () => {
    // setup's inputPartitions is 2: touchpoints-history partition 1 is source 3.
    const history = { topic: topics.touchpointsHistory, partition: 1 };
    const imported = (offset: number, timestamp: number) => message(offset, touchpoint({ messageId: `h${offset}`, userId: `h${offset}`, anonymousId: undefined, timestamp }));
    const marker = (offset: number, m: HistoryMarker): KafkaMessage =>
      ({ offset: String(offset), key: Buffer.from(HISTORY_MARKER_KEY), value: historyMarkerValue(m), timestamp: '0', attributes: 0, headers: { [HISTORY_MARKER_HEADER]: Buffer.from(m.kind) } }) as KafkaMessage;
    const end = (offset: number) => marker(offset, { kind: 'end' });
    const journeyRecords = (records: OutgoingRecord[]) =>
      records.filter((r) => r.topic === topics.identifiedTouchpoints).map((r) => ({ partition: r.partition, record: recordCodec.decode(r.value as Buffer) as JourneyRecord }));
    const markers = (records: OutgoingRecord[]) => records.filter((r) => r.topic === topics.identityLinks && String(r.key).startsWith('@router-applied')).map((r) => `${String(r.key)}=${String(r.value)}`);

    it('numbers a history partition as source P + p, with a marker key of its own beside the live partition’s', async () => {
      const { router, sent } = setup(0);
      await routeDurably(router, { ...history, messages: [imported(0, 5_000), imported(1, 6_000)], highWatermark: '2' });
      await routeDurably(router, { topic: topics.touchpoints, partition: 1, messages: [message(0, touchpoint({ messageId: 'live', timestamp: 9_000 }))], highWatermark: '1' });
      const touchpoints = journeyRecords(sent.flat()).filter((o) => o.record.kind === 'touchpoint').map((o) => [o.record.source, o.record.sourceWatermark]);
      expect(touchpoints).toEqual([[3, 5_000], [3, 5_000], [1, 9_000]]);
      expect(markers(sent.flat())).toEqual(['@router-applied:history:1=1@6000', '@router-applied:1=0@9000']);
    });

    it('a begin marker opens the source at its time: every output partition is told at once, and the import’s touchpoints carry it', async () => {
      const { router, sent } = setup(0);
      await routeDurably(router, { ...history, messages: [marker(0, { kind: 'begin', firstEventTime: 4_000 }), imported(1, 5_000)], highWatermark: '2' });
      expect(journeyRecords(sent.flat()).map((o) => [o.partition ?? null, o.record.kind, o.record.source, o.record.sourceWatermark])).toEqual([
        [null, 'touchpoint', 3, 4_000],
        [0, 'watermark', 3, 5_000],
        [1, 'watermark', 3, 5_000],
      ]);
    });

    it('an end marker closes the source: every output partition is told at once, and the next import starts a watermark of its own', async () => {
      const { router, sent } = setup(0);
      await routeDurably(router, { ...history, messages: [imported(0, 50_000), end(1)], highWatermark: '2' });
      const closing = journeyRecords(sent.flat()).filter((o) => o.record.kind === 'watermark').map((o) => [o.partition, o.record.source, o.record.sourceWatermark]);
      expect(closing).toEqual([[0, 3, null], [1, 3, null]]);
      // The marker keeps no watermark: the closed input has none.
      expect(markers(sent.flat())).toEqual(['@router-applied:history:1=1']);
      sent.length = 0;
      // A second import, of older events: it opens the source at its own time.
      await routeDurably(router, { ...history, messages: [marker(2, { kind: 'begin', firstEventTime: 9_000 }), imported(3, 10_000), imported(4, 11_000)], highWatermark: '5' });
      const reopened = journeyRecords(sent.flat()).map((o) => [o.record.kind, o.record.source, o.record.sourceWatermark]);
      expect(reopened).toEqual([['touchpoint', 3, 9_000], ['touchpoint', 3, 10_000], ['watermark', 3, 11_000], ['watermark', 3, 11_000]]);
    });

    it('says a closed input is closed once, with the batch that routed its end: the journey step keeps it, so idle ticks and a restart say nothing more', async () => {
      const input = [imported(0, 50_000), end(1)];
      const first = setup(0, { input, emptyInput: false });
      await routeDurably(first.router, { ...history, messages: input, highWatermark: '2' });
      await first.router.onIdle!(history, control);
      const nulls = (records: OutgoingRecord[]) => journeyRecords(records).filter((o) => o.record.kind === 'watermark' && o.record.sourceWatermark === null);
      expect(nulls(first.sent.flat())).toHaveLength(2);
      const restarted = setup(0, { table: tableInMemory(first.sent.flat()), input, emptyInput: false });
      await restarted.router.onAssigned!(history, { offset: '2', metadata: null });
      await restarted.router.onIdle!(history, control);
      expect(journeyRecords(restarted.sent.flat())).toEqual([]);
    });
  });

  describe('rounds: routing does not wait for the broker', () => {
    /** A broker that acknowledges (or fails) each send when the test says. */
    const manualBroker = () => {
      const calls: Array<{ records: OutgoingRecord[]; ack: () => void; fail: (e: Error) => void }> = [];
      const producer: RecordProducer = {
        send: (records) => new Promise<void>((resolve, reject) => calls.push({ records, ack: resolve, fail: reject })),
      };
      /** Lets the router's rounds run up to their next send. */
      const settle = () => new Promise<void>((r) => setImmediate(r));
      return { calls, producer, settle };
    };
    const markers = (records: OutgoingRecord[]) => records.filter((r) => String(r.key).startsWith('@router-applied:')).map((r) => `${r.key}=${String(r.value)}`);
    const first = { topic: topics.touchpoints, partition: 0, messages: batch.slice(0, 1), highWatermark: '3' };
    const rest = { topic: topics.touchpoints, partition: 0, messages: batch.slice(1), highWatermark: '3' };

    it('routes the next batch while a round is in flight; the marker of each round follows its acknowledged outputs, and what was routed meanwhile goes in one round', async () => {
      const broker = manualBroker();
      const { router } = setup(0, { producer: broker.producer });
      expect(await router.handleBatch(first, control)).toBeNull(); // nothing durable yet
      await broker.settle();
      expect(broker.calls).toHaveLength(1); // the first round's outputs, in flight
      expect(await router.handleBatch(rest, control)).toBeNull(); // routed without waiting for it
      broker.calls[0]!.ack();
      await broker.settle();
      expect(markers(broker.calls[1]!.records)).toEqual(['@router-applied:0=0@0']); // offset 0 only
      broker.calls[1]!.ack();
      await broker.settle();
      // The second round: both of `rest`'s touchpoints in one send, then its links and marker.
      expect(routed(broker.calls[2]!.records)).toEqual(['merge:a:a1>u:u1', 'absorbing:u:u1', 'touchpoint:u:u1', 'touchpoint:u:u1']);
      broker.calls[2]!.ack();
      await broker.settle();
      expect(markers(broker.calls[3]!.records)).toEqual(['@router-applied:0=2@0']);
      expect(broker.calls[3]!.records.some((r) => r.key === 'u:u1' || r.key === 'a:a1')).toBe(true); // the merge's links with it
      broker.calls[3]!.ack();
      expect(await router.flush({ topic: topics.touchpoints, partition: 0 })).toEqual({ offset: '3' });
      expect(broker.calls).toHaveLength(4);
    });

    it('a failed round stops what was routed behind it; the partition throws once, and read again from its durable point routes as the first time', async () => {
      const broker = manualBroker();
      const { router } = setup(0, { producer: broker.producer });
      await router.handleBatch(first, control);
      await broker.settle();
      broker.calls[0]!.ack(); // outputs of offset 0
      await broker.settle();
      broker.calls[1]!.ack(); // its marker: offset 0 is durable
      await broker.settle();
      await router.handleBatch(rest, control);
      await broker.settle();
      broker.calls[2]!.fail(new Error('broker down')); // the outputs of offsets 1 and 2
      await broker.settle();
      expect(broker.calls).toHaveLength(3); // no marker after a failed send
      await expect(router.handleBatch({ ...rest, messages: [message(3, touchpoint({ messageId: 'm3', anonymousId: 'a1' }))] }, control)).rejects.toThrow('broker down');
      // The consumer reads again from offset 1.
      const again = router.handleBatch(rest, control);
      expect(await again).toEqual({ offset: '1' });
      await broker.settle();
      expect(routed(broker.calls[3]!.records)).toEqual(routed(broker.calls[2]!.records)); // the same decisions: the merge again
      broker.calls[3]!.ack();
      await broker.settle();
      expect(markers(broker.calls[4]!.records)).toEqual(['@router-applied:0=2@0']);
      broker.calls[4]!.ack();
      expect(await router.flush({ topic: topics.touchpoints, partition: 0 })).toEqual({ offset: '3' });
    });

    it('a failed partition’s links go only with its own marker, after its replay re-sent its outputs: never with another partition’s round before that', async () => {
      const broker = manualBroker();
      const acked: OutgoingRecord[] = [];
      const ack = (i: number) => {
        acked.push(...broker.calls[i]!.records);
        broker.calls[i]!.ack();
      };
      const { router } = setup(0, { producer: broker.producer });
      const p0 = { topic: topics.touchpoints, partition: 0, messages: batch, highWatermark: '3' };
      const p1 = { topic: topics.touchpoints, partition: 1, messages: [message(0, touchpoint({ messageId: 'q0', anonymousId: 'b1', userId: 'v1', type: 'identify' }))], highWatermark: '1' };
      await router.handleBatch(p0, control);
      await broker.settle();
      broker.calls[0]!.fail(new Error('broker down')); // partition 0's outputs (with the a1–u1 merge notice) are lost
      await broker.settle();
      // Partition 1 goes on: its round is durable, and its append carries nothing of partition 0's.
      await router.handleBatch(p1, control);
      await broker.settle();
      ack(1);
      await broker.settle();
      expect(markers(broker.calls[2]!.records)).toEqual(['@router-applied:1=0@0']);
      expect(broker.calls[2]!.records.map((r) => String(r.key)).filter((k) => k === 'a:a1' || k === 'u:u1')).toEqual([]);
      ack(2);
      await broker.settle();

      // A kill -9 now: a new instance reads the table as it is and routes partition 0 as the first time, merge notice included.
      const restarted = setup(0, { table: tableInMemory(acked) });
      await routeDurably(restarted.router, p0);
      expect(routed(restarted.sent.flat())).toEqual(['touchpoint:a:a1', 'merge:a:a1>u:u1', 'absorbing:u:u1', 'touchpoint:u:u1', 'touchpoint:u:u1']);

      // No crash: partition 0 throws once, is read again from its durable point, and its links go with its own marker.
      await expect(router.handleBatch(p0, control)).rejects.toThrow('broker down');
      await router.handleBatch(p0, control);
      await broker.settle();
      expect(routed(broker.calls[3]!.records)).toEqual(['touchpoint:a:a1', 'merge:a:a1>u:u1', 'absorbing:u:u1', 'touchpoint:u:u1', 'touchpoint:u:u1']);
      ack(3);
      await broker.settle();
      expect(markers(broker.calls[4]!.records)).toEqual(['@router-applied:0=2@0']);
      expect(broker.calls[4]!.records.filter((r) => r.key === 'a:a1' || r.key === 'u:u1').map((r) => `${r.key}=${String(r.value)}`).sort()).toEqual(['a:a1=u:u1', 'u:u1=#']);
      ack(4);
      expect(await router.flush({ topic: topics.touchpoints, partition: 0 })).toEqual({ offset: '3' });
    });

    it('what was routed behind a round in flight goes in as many rounds as its appends need: each append is one request, with whole batches and their markers', async () => {
      const broker = manualBroker();
      const { router } = setup(0, { producer: broker.producer });
      await router.handleBatch(first, control);
      await broker.settle(); // a round in flight while four partitions route bursts of new identities
      const long = (prefix: string, p: number, i: number) => `${prefix}${p}-${i}-${'x'.repeat(200)}`;
      const burst = (p: number) => Array.from({ length: 150 }, (_, i) => message(i, touchpoint({ messageId: `n${p}-${i}`, anonymousId: long('a', p, i), userId: long('u', p, i), type: 'identify' })));
      for (const p of [1, 2, 3, 4]) await router.handleBatch({ topic: topics.touchpoints, partition: p, messages: burst(p), highWatermark: '150' }, control);
      // Together their links are over one request: one append would be split, and not atomic.
      for (let acked = 0; acked < broker.calls.length; acked++) {
        broker.calls[acked]!.ack();
        await broker.settle();
      }
      const appends = broker.calls.map((c) => c.records).filter((records) => records.some((r) => r.topic === topics.identityLinks));
      for (const append of appends) expect(append.reduce((n, r) => n + recordBytes(r), 0)).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
      expect(appends.length).toBeGreaterThan(2);
      for (const p of [1, 2, 3, 4]) expect(await router.flush({ topic: topics.touchpoints, partition: p })).toEqual({ offset: '150' });
      expect(new Set(appends.flat().filter((r) => !String(r.key).startsWith('@')).map((r) => String(r.key))).size).toBe(4 * 150 * 2);
    });

    it('cuts a batch whose links would not fit one request: each append is under the limit and ends with its marker', async () => {
      const { router, sent } = setup(0);
      const long = (prefix: string, i: number) => `${prefix}${i}-${'x'.repeat(200)}`;
      const many = Array.from({ length: 1_500 }, (_, i) => message(i, touchpoint({ messageId: `n${i}`, anonymousId: long('a', i), userId: long('u', i), type: 'identify' })));
      expect(await routeDurably(router, { topic: topics.touchpoints, partition: 0, messages: many, highWatermark: '1500' })).toEqual({ offset: '1500' });
      const appends = sent.filter((records) => records.some((r) => r.topic === topics.identityLinks));
      expect(appends.length).toBeGreaterThan(1);
      for (const append of appends) {
        expect(append.reduce((n, r) => n + recordBytes(r), 0)).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
        expect(String(append.at(-1)!.key)).toBe('@router-applied:0');
      }
      expect(new Set(appends.flat().filter((r) => !String(r.key).startsWith('@')).map((r) => String(r.key))).size).toBe(3_000);
    });
  });
});
