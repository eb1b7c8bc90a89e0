import type { KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JourneyRecord } from '../../schemas/journey.js';
import type { Touchpoint } from '../../schemas/touchpoint.js';
import { topicCodecs, topicsWithPrefix } from '../../schemas/topics.js';
import type { OutgoingRecord } from '../platform/kafka/producer.js';
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

function setup(failSends: number, options: { table?: ReturnType<typeof createIdentityTable>; failOnCall?: number; input?: KafkaMessage[]; windowCopyDir?: string; emptyInput?: boolean } = {}) {
  const emptyInput = options.emptyInput ?? false;
  const sent: OutgoingRecord[][] = [];
  const inputRead: string[] = [];
  let failures = failSends;
  let calls = 0;
  const router = createIdentityRouter({
    topics,
    table: options.table ?? tableInMemory(),
    producer: {
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
    openWindowCopy: options.windowCopyDir === undefined ? undefined : (partition) => new RetryWindowCopy(openLocalStateLog(join(options.windowCopyDir!, `window-${partition}.log`), silent)!, 1_000),
    outputPartitions: async () => 2,
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

describe('identity router', () => {
  it('sends a merge notice after the absorbed customer’s earlier touchpoints of the same batch', async () => {
    const { router, sent } = setup(0);
    await router.handleBatch({ topic: topics.touchpoints, partition: 0, messages: batch, highWatermark: '3' }, { heartbeat: async () => {}, commit: async () => {}, progress: async () => {} });
    expect(routed(sent.flat())).toEqual(['touchpoint:a:a1', 'merge:a:a1>u:u1', 'absorbing:u:u1', 'touchpoint:u:u1', 'touchpoint:u:u1']);
  });

  it('re-sends the merge notice of a failed send at the same place when the batch is retried', async () => {
    const { router, sent } = setup(1);
    const control = { heartbeat: async () => {}, commit: async () => {}, progress: async () => {} };
    await expect(router.handleBatch({ topic: topics.touchpoints, partition: 0, messages: batch, highWatermark: '3' }, control)).rejects.toThrow('broker down');
    await router.handleBatch({ topic: topics.touchpoints, partition: 0, messages: batch, highWatermark: '3' }, control);
    // m0 is routed to a:a1 again: the retry rebuilds the same sequence, not the post-merge view.
    expect(routed(sent.flat())).toEqual(['touchpoint:a:a1', 'merge:a:a1>u:u1', 'absorbing:u:u1', 'touchpoint:u:u1', 'touchpoint:u:u1']);
    expect(sent.flat().filter((r) => r.topic === topics.identityLinks).length).toBeGreaterThan(0);
  });

  const control = { heartbeat: async () => {}, commit: async () => {}, progress: async () => {} };
  const whole = { topic: topics.touchpoints, partition: 0, messages: batch, highWatermark: '3' };

  it('after a crash between its outputs and its links, a restarted router routes the batch exactly as the first time', async () => {
    // The first instance sends its outputs, then dies before the links reach the table topic.
    const first = setup(0, { failOnCall: 2 });
    await expect(first.router.handleBatch(whole, control)).rejects.toThrow();
    const restarted = setup(0, { table: tableInMemory(first.sent.flat()) });
    await restarted.router.handleBatch(whole, control);
    expect(routed(restarted.sent.flat())).toEqual(routed(first.sent.flat()));
    expect(routed(restarted.sent.flat())).toEqual(['touchpoint:a:a1', 'merge:a:a1>u:u1', 'absorbing:u:u1', 'touchpoint:u:u1', 'touchpoint:u:u1']);
  });

  it('skips a batch whose links and marker were sent before the crash, instead of routing it with its own links', async () => {
    const first = setup(0);
    expect(await first.router.handleBatch(whole, control)).toEqual({ offset: '3' });
    const restarted = setup(0, { table: tableInMemory(first.sent.flat()) });
    expect(await restarted.router.handleBatch(whole, control)).toEqual({ offset: '3' });
    expect(routed(restarted.sent.flat())).toEqual([]);
  });

  it('rebuilds its retry window from the input on assignment: a retry whose first copy preceded a restart is still dropped', async () => {
    // m0 was routed (and committed, offset 3) before the restart; its SDK retry arrives after it,
    // when the graph already links a1 to u1. Routed again, it would land on u:u1 as well as a:a1.
    const retry = message(3, touchpoint({ messageId: 'm0', anonymousId: 'a1' }));
    const first = setup(0);
    await first.router.handleBatch(whole, control);
    const restarted = setup(0, { table: tableInMemory(first.sent.flat()), input: batch });
    await restarted.router.onAssigned!({ topic: topics.touchpoints, partition: 0 }, { offset: '3', metadata: null });
    await restarted.router.handleBatch({ ...whole, messages: [retry], highWatermark: '4' }, control);
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
      await first.router.handleBatch(whole, control);
      await first.router.onRevoked!(tp0);
      const restarted = setup(0, { table: tableInMemory(first.sent.flat()), input: batch, windowCopyDir });
      await restarted.router.onAssigned!(tp0, { offset: '3', metadata: null });
      expect(restarted.inputRead).toEqual([]);
      await restarted.router.handleBatch({ ...whole, messages: [retry], highWatermark: '4' }, control);
      expect(routed(restarted.sent.flat())).toEqual([]);
    });

    it('reads from the input only what the copy lacks (another instance routed it)', async () => {
      const windowCopyDir = tempDir();
      const first = setup(0, { windowCopyDir });
      await first.router.onAssigned!(tp0, { offset: '-1', metadata: null });
      await first.router.handleBatch({ ...whole, messages: batch.slice(0, 1), highWatermark: '3' }, control);
      await first.router.onRevoked!(tp0);
      // Offsets 1 and 2 were routed elsewhere: the copy ends at 1.
      const elsewhere = setup(0, { table: tableInMemory(first.sent.flat()) });
      await elsewhere.router.handleBatch({ ...whole, messages: batch.slice(1), highWatermark: '3' }, control);
      const restarted = setup(0, { table: tableInMemory([...first.sent.flat(), ...elsewhere.sent.flat()]), input: batch, windowCopyDir });
      await restarted.router.onAssigned!(tp0, { offset: '3', metadata: null });
      expect(restarted.inputRead).toEqual(['1', '2']);
      await restarted.router.handleBatch({ ...whole, messages: [retry, message(4, touchpoint({ messageId: 'm2', anonymousId: 'a1', userId: 'u1' }))], highWatermark: '5' }, control);
      expect(routed(restarted.sent.flat())).toEqual([]);
    });

    it('ignores a copy that goes past where routing resumes: those touchpoints are routed again, not dropped as seen', async () => {
      const windowCopyDir = tempDir();
      const first = setup(0, { windowCopyDir });
      await first.router.onAssigned!(tp0, { offset: '-1', metadata: null });
      await first.router.handleBatch(whole, control);
      await first.router.onRevoked!(tp0);
      // The new owner resumes at 0 (say its marker and commits were lost with the topic's history).
      const restarted = setup(0, { input: [], windowCopyDir });
      await restarted.router.onAssigned!(tp0, { offset: '-1', metadata: null });
      await restarted.router.handleBatch(whole, control);
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
      await router.handleBatch({ topic: topics.touchpoints, partition: 0, messages: timed, highWatermark: '4' }, control);
      const out = decoded(sent.flat());
      const touchpoints = out.filter((o) => o.record.kind === 'touchpoint').map((o) => [o.record.source, o.record.sourceWatermark]);
      // The first has nothing before it: its own time.
      expect(touchpoints).toEqual([[0, 5_000], [0, 5_000], [0, 9_000], [0, 9_000]]);
      const marks = out.filter((o) => o.record.kind === 'watermark').map((o) => [o.partition, o.record.source, o.record.sourceWatermark]);
      expect(marks).toEqual([[0, 0, 12_000], [1, 0, 12_000]]);
    });

    it('a retried batch and a restarted router carry the same watermarks as the first attempt', async () => {
      const once = setup(0);
      await once.router.handleBatch({ topic: topics.touchpoints, partition: 0, messages: timed.slice(0, 2), highWatermark: '4' }, control);
      await once.router.handleBatch({ topic: topics.touchpoints, partition: 0, messages: timed.slice(2), highWatermark: '4' }, control);
      const expected = decoded(once.sent.flat()).filter((o) => o.record.kind === 'touchpoint').map((o) => o.record.sourceWatermark);

      const second = { topic: topics.touchpoints, partition: 0, messages: timed.slice(2), highWatermark: '4' };
      const crashed = setup(1);
      await crashed.router.handleBatch({ topic: topics.touchpoints, partition: 0, messages: timed.slice(0, 2), highWatermark: '4' }, control).catch(() => {});
      await crashed.router.handleBatch({ topic: topics.touchpoints, partition: 0, messages: timed.slice(0, 2), highWatermark: '4' }, control);
      // A new instance resumes from the marker the first instance wrote after its first batch.
      const restarted = setup(0, { table: tableInMemory(crashed.sent.flat()) });
      await restarted.router.handleBatch(second, control);
      const replayed = [...decoded(crashed.sent.flat()), ...decoded(restarted.sent.flat())].filter((o) => o.record.kind === 'touchpoint').map((o) => o.record.sourceWatermark);
      expect(replayed).toEqual(expected);
    });
  });

  describe('an input partition with nothing in it', () => {
    const tp0 = { topic: topics.touchpoints, partition: 0 };
    const notices = (records: OutgoingRecord[]) =>
      records.filter((r) => r.topic === topics.identifiedTouchpoints).map((r) => ({ partition: r.partition, record: recordCodec.decode(r.value as Buffer) as JourneyRecord }));

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
      await used.router.handleBatch(whole, control);
      await used.router.onIdle!(tp0, control);
      expect(notices(used.sent.flat()).filter((n) => n.record.kind === 'watermark' && n.record.sourceWatermark == null)).toEqual([]);
    });
  });
});
