import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { EVENTS } from '../../schemas/event-names.js';
import type { JourneyRecord, SessionRecord, TouchpointRecord } from '../../schemas/journey.js';
import { codecFor } from '../../schemas/codec.js';
import { topicCodecs, topicsWithPrefix } from '../../schemas/topics.js';
import { sessionizerConfig } from './core/sessions.js';
import type { CustomerBounds } from './core/customer-bounds.js';
import { stageByEventName, touchpoint } from './core/test-touchpoint.js';
import { decodeCustomerState } from './customer-state.js';
import { bundleHeaders, encodeBundle } from '../platform/kafka/record-bundle.js';
import { createJourneyProcessor, type JourneyProcessorDeps } from './journey-processor.js';
import { ForgottenIds, forgottenIdHash } from '../platform/privacy/forgotten-ids.js';
import { defaultStagesCoreConfig } from './stages/stages-config.js';
import { loadShippedChurnModel, loadShippedStageRules, T0, touch } from './stages/testing.js';

const topics = topicsWithPrefix('t.');
const recordCodec = topicCodecs.identifiedTouchpoints();
const sessionCodec = topicCodecs.sessions();
const funnelCodec = topicCodecs.funnelEvents();
/** The default processing clock: after every event time used here (stages take a future-stamped event as happening now). */
const LATER = T0 + 365 * 86_400_000;
const processorDeps = (sourcePartitions = 1, now: () => number = () => LATER, limits: { maxHeldBytes?: number; bounds?: CustomerBounds; forgotten?: ForgottenIds; sessionOutputIntervalMs?: number } = {}): JourneyProcessorDeps => ({
  sourcePartitions,
  mergeWait: { maxWaitMs: 60_000, maxHeld: 100, maxHeldBytes: limits.maxHeldBytes ?? 1 << 20 },
  bounds: limits.bounds,
  forgotten: limits.forgotten,
  topics,
  codecs: { record: recordCodec, session: sessionCodec, transition: topicCodecs.stageTransitions(), funnel: funnelCodec, churn: topicCodecs.churnScores() },
  sessions: sessionizerConfig(stageByEventName),
  stages: { rules: loadShippedStageRules('ecommerce.yaml'), config: defaultStagesCoreConfig(), churn: loadShippedChurnModel() },
  tickLimit: 1_000,
  sessionOutputIntervalMs: limits.sessionOutputIntervalMs,
  maxEventLagMs: 5 * 60_000,
  counters: { duplicates: () => {}, late: () => {}, sessionsClosed: () => {}, touchpoints: () => {}, transitions: () => {}, churnAlerts: () => {}, deadLetter: () => {}, mergeWaitsExpired: () => {}, mergeWaitsFull: () => {}, bounded: () => {}, oversizedOutput: () => {}, idleTick: () => {} },
  now,
});
const processor = (...args: Parameters<typeof processorDeps>) => createJourneyProcessor(processorDeps(...args));
let offset = 0;
const message = (record: JourneyRecord): KafkaMessage =>
  ({ offset: String(offset++), key: null, value: recordCodec.encode(record), timestamp: '0', attributes: 0, headers: {} }) as KafkaMessage;
const touchRecord = (customerId: string, messageId: string, at: number): TouchpointRecord => ({
  kind: 'touchpoint',
  customerId,
  touchpoint: { customerId, accountId: null, sessionId: '', late: false, touchpoint: touchpoint({ messageId, timestamp: at }) },
  mergeInto: null,
  mergedFrom: null,
  state: null,
});
const sessionsOf = (records: Array<{ topic: string; value: unknown }>): SessionRecord[] =>
  records.filter((r) => r.topic === topics.sessions).map((r) => sessionCodec.decode(r.value as Buffer));

describe('journey processor, sessions: identity merges', () => {
  it('imports a transfer once: a replayed transfer does not count the absorbed sessions’ events twice', () => {
    const owner = processor();
    owner.process(message(touchRecord('anon', 'm1', 1_000)));
    owner.process(message(touchRecord('anon', 'm2', 2_000)));
    const out = owner.process(message({ kind: 'merge', customerId: 'anon', touchpoint: null, mergeInto: 'user', mergedFrom: null, state: null }));
    const transfer = recordCodec.decode(out.find((r) => r.topic === topics.identifiedTouchpoints)!.value as Buffer);
    expect(transfer).toMatchObject({ kind: 'transfer', customerId: 'user', mergedFrom: 'anon' });

    const survivor = processor();
    survivor.process(message(touchRecord('user', 'm3', 3_000)));
    const merged = sessionsOf(survivor.process(message(transfer)));
    expect(Math.max(...merged.map((s) => s.eventCount))).toBe(3);
    expect(survivor.process(message(transfer))).toEqual([]);
    const next = sessionsOf(survivor.process(message(touchRecord('user', 'm4', 4_000))));
    expect(next.at(-1)?.eventCount).toBe(4);
  });
});

describe('journey processor, sessions: a survivor waits for the absorbed sessions', () => {
  const MIN = 60_000;
  const absorbing: JourneyRecord = { kind: 'absorbing', customerId: 'user', touchpoint: null, mergeInto: null, mergedFrom: 'anon', state: null };
  /** The absorbed owner: a session of `anon` (minutes 0-2), then the merge notice; returns its transfer. */
  const transferFrom = (touched = true): JourneyRecord => {
    const owner = processor();
    if (touched) for (const m of [0, 1.5, 2]) owner.process(message(touchRecord('anon', `a${m}`, m * MIN)));
    const out = owner.process(message({ kind: 'merge', customerId: 'anon', touchpoint: null, mergeInto: 'user', mergedFrom: null, state: null }));
    return recordCodec.decode(out.find((r) => r.topic === topics.identifiedTouchpoints)!.value as Buffer);
  };
  // Delivered 12 minutes late (behind its source by more than the grace), inside anon's session.
  const lateInside: JourneyRecord = { ...touchRecord('user', 'late', 1 * MIN), source: 0, sourceWatermark: 13 * MIN };
  const run = (order: JourneyRecord[]) => {
    const p = processor();
    const out = order.flatMap((r) => p.process(message(r)));
    const late = out
      .filter((r) => r.topic === topics.customerTouchpoints)
      .map((r) => recordCodec.decode(r.value as Buffer))
      .filter((r) => r.kind === 'touchpoint')
      .map((r) => r.touchpoint!.late);
    const last = new Map(sessionsOf(out).map((s) => [s.sessionId, `${s.eventCount} ${s.startedAt}-${s.endedAt}`]));
    return { late, sessions: [...last.values()] };
  };

  it('a late event inside the absorbed id’s session joins it whether the sessions arrive before or after it', () => {
    const transfer = transferFrom();
    const stateFirst = run([absorbing, transfer, lateInside]);
    expect(run([absorbing, lateInside, transfer])).toEqual(stateFirst);
    expect(stateFirst).toEqual({ late: [false], sessions: [`4 0-${2 * MIN}`] });
  });

  it('an absorbed id with no state still sends a (stateless) transfer, which ends the wait', () => {
    const empty = transferFrom(false);
    expect(empty).toMatchObject({ kind: 'transfer', mergedFrom: 'anon', state: null });
    const p = processor();
    expect(p.process(message(absorbing))).toEqual([]);
    const held = message(touchRecord('user', 'm1', 1_000));
    expect(p.process(held)).toEqual([]);
    const released = p.process(message(empty)).filter((r) => r.topic === topics.customerTouchpoints);
    expect(released.map((r) => recordCodec.decode(r.value as Buffer)).map((r) => [r.kind, r.inputOffset])).toEqual([['touchpoint', Number(held.offset)]]);
    p.process(message({ kind: 'merge', customerId: 'user', touchpoint: null, mergeInto: 'other', mergedFrom: null, state: null }));
    expect(p.process(message(absorbing))).toEqual([]);
  });
});

describe('journey processor: bounded per customer', () => {
  it('a survivor holds records up to maxHeldBytes; the next one ends the wait: held records first, in order', () => {
    const one = recordCodec.encode({ ...touchRecord('user', 'm0', 1_000), inputOffset: 0 }).length;
    const p = processor(1, () => LATER, { maxHeldBytes: 3 * one + 10 });
    const absorbing: JourneyRecord = { kind: 'absorbing', customerId: 'user', touchpoint: null, mergeInto: null, mergedFrom: 'anon', state: null };
    expect(p.process(message(absorbing))).toEqual([]);
    const held = [1, 2, 3].map((i) => message(touchRecord('user', `m${i}`, i * 1_000)));
    for (const m of held) expect(p.process(m)).toEqual([]);
    const next = message(touchRecord('user', 'm4', 4_000));
    const out = p.process(next).filter((r) => r.topic === topics.customerTouchpoints);
    expect(out.map((r) => recordCodec.decode(r.value as Buffer).inputOffset)).toEqual([...held, next].map((m) => Number(m.offset)));
    // The wait is over: later records go straight through, and the absorbed state still merges when it comes.
    expect(p.process(message(touchRecord('user', 'm5', 5_000))).length).toBeGreaterThan(0);
  });

  it('writes a customer value within maxStateBytes and dead-letters an output over the record limit', () => {
    const bounds = { maxRecentIds: 1_000_000, maxOpenEvents: 1_000_000, maxStateBytes: 32 * 1024 };
    const p = processor(1, () => LATER, { bounds });
    const url = `https://shop.example/${'x'.repeat(1_000)}`;
    for (let i = 0; i < 100; i++) {
      const r = touchRecord('whale', `w${i}`, 1_000 + i);
      p.process(message({ ...r, touchpoint: { ...r.touchpoint!, touchpoint: { ...r.touchpoint!.touchpoint, url } } }));
    }
    const value = p.takeStateUpdates().find((u) => u.key === 'whale')!.value!;
    expect(value.length).toBeLessThanOrEqual(32 * 1024);
    expect(p.sessions.isBounded('whale')).toBe(true);

    const huge = touchRecord('big', 'b1', 1_000);
    const out = p.process(message({ ...huge, touchpoint: { ...huge.touchpoint!, touchpoint: { ...huge.touchpoint!.touchpoint, properties: JSON.stringify({ blob: 'y'.repeat(800 * 1024) }) } } }));
    const dead = out.filter((r) => r.topic === topics.deadLetter).map((r) => topicCodecs.deadLetter().decode(r.value as Buffer));
    expect(dead).toEqual([expect.objectContaining({ sourceTopic: topics.customerTouchpoints, key: 'big', reason: expect.stringMatching(/over the \d+-byte record limit/) })]);
    expect(out.some((r) => r.topic === topics.customerTouchpoints)).toBe(false);
  });
});

describe('journey processor, sessions: a waiting survivor keeps its sessions open', () => {
  const MIN = 60_000;
  const watermark = (at: number): JourneyRecord => ({ kind: 'watermark', customerId: '', touchpoint: null, mergeInto: null, mergedFrom: null, state: null, source: 0, sourceWatermark: at });
  /** The absorbed owner's transfer: `anon` had a session at minutes 45-47 (24 minutes after the survivor's). */
  const transfer = (() => {
    const owner = processor();
    for (const m of [45, 46, 47]) owner.process(message(touchRecord('anon', `a${m}`, m * MIN)));
    const out = owner.process(message({ kind: 'merge', customerId: 'anon', touchpoint: null, mergeInto: 'user', mergedFrom: null, state: null }));
    return recordCodec.decode(out.find((r) => r.topic === topics.identifiedTouchpoints)!.value as Buffer);
  })();
  const start: JourneyRecord[] = [
    touchRecord('user', 'u20', 20 * MIN),
    touchRecord('user', 'u21', 21 * MIN),
    { kind: 'absorbing', customerId: 'user', touchpoint: null, mergeInto: null, mergedFrom: 'anon', state: null },
  ];
  /** Final record per session after `steps` (records, or 'tick'). */
  const run = (steps: Array<JourneyRecord | 'tick'>) => {
    const p = processor();
    const last = new Map<string, string>();
    for (const step of steps) {
      const out = step === 'tick' ? p.tick(0, { caughtUp: false }) : p.process(message(step));
      for (const s of sessionsOf(out)) last.set(s.sessionId, `${s.status} ${s.eventCount} ${s.startedAt / MIN}-${s.endedAt / MIN}`);
    }
    return [...last.values()].sort();
  };

  it('the watermark passing the survivor’s session while the absorbed sessions travel does not close it first', () => {
    const transferFirst = run([...start, transfer, watermark(120 * MIN), 'tick']);
    expect(transferFirst).toEqual(['closed 5 20-47', 'merged 3 45-47']);
    expect(run([...start, watermark(120 * MIN), 'tick', transfer, 'tick'])).toEqual(transferFirst);
  });
});

describe('journey processor, sessions: event time from several router partitions', () => {
  const MIN = 60_000;
  /** What a router partition sends: touchpoints with its watermark before each, a watermark record after each batch of 10. */
  const sourceStream = (source: number, customerId: string, times: number[]): JourneyRecord[][] => {
    let watermark = -Infinity;
    const batches: JourneyRecord[][] = [];
    times.forEach((t, i) => {
      if (i % 10 === 0) batches.push([]);
      const record = { ...touchRecord(customerId, `${customerId}-${i}`, t), source, sourceWatermark: Number.isFinite(watermark) ? watermark : t };
      batches.at(-1)!.push(record);
      watermark = Math.max(watermark, t);
      if (i % 10 === 9 || i === times.length - 1) batches.at(-1)!.push({ kind: 'watermark', customerId: '', touchpoint: null, mergeInto: null, mergedFrom: null, state: null, source, sourceWatermark: watermark });
    });
    return batches;
  };
  const minutes = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => (from + i) * MIN);
  // Source 1's customer has two sessions (minutes 0-20 and 60-100); an event of minute 40 arrives
  // after minute 65 (behind its own source by more than the 10-minute grace and in no session:
  // late), one of minute 63.5 after minute 66 (within the grace: placed).
  const steady = sourceStream(0, 'c0', minutes(0, 100));
  const delayed = sourceStream(1, 'c1', [...minutes(0, 20), ...minutes(60, 65), 40 * MIN, 66 * MIN, 63.5 * MIN, ...minutes(67, 100)]);

  /** Runs one interleaving; returns each touchpoint's late flag and each session's last record. */
  const run = (order: JourneyRecord[][]) => {
    const p = processor(2);
    const late = new Map<string, boolean>();
    const sessions = new Map<string, string>();
    for (const batch of order) {
      const out = batch.flatMap((r) => p.process(message(r)));
      out.push(...p.tick(0, { caughtUp: false }));
      for (const r of out) {
        if (r.topic === topics.customerTouchpoints) {
          const ctp = recordCodec.decode(r.value as Buffer).touchpoint!;
          late.set(ctp.touchpoint.messageId, ctp.late);
        } else if (r.topic === topics.sessions) {
          const s = sessionCodec.decode(r.value as Buffer);
          sessions.set(s.sessionId, `${s.customerId} ${s.status} ${s.eventCount} ${s.startedAt}-${s.endedAt}`);
        }
      }
    }
    return { late, sessions };
  };

  it('decides lateness and sessions by each source’s own order, whatever the interleaving of sources', () => {
    const oneAfterTheOther = run([...steady, ...delayed]);
    const alternating = run(steady.flatMap((b, i) => [b, delayed[i] ?? []]));
    expect(alternating).toEqual(oneAfterTheOther);
    // Source 1 ran 100 minutes behind source 0 in the first order: still, only its really late event is late.
    expect([...oneAfterTheOther.late].filter(([, late]) => late).map(([id]) => id)).toEqual(['c1-27']);
    expect([...oneAfterTheOther.sessions.values()].filter((s) => s.startsWith('c1'))).toEqual([
      `c1 closed 21 0-${20 * MIN}`,
      `c1 updated 42 ${60 * MIN}-${100 * MIN}`,
    ]);
  });
});

describe('journey processor, stages', () => {
  it('a conversion deadline that passes while the survivor waits for the absorbed journey waits too: its held touchpoint still converts (found by the merge-protocol model test)', () => {
    const DAY = 86_400_000;
    const tp = (event: string, at: number): JourneyRecord => ({ kind: 'touchpoint', customerId: 'u:U0', touchpoint: touch('u:U0', event, at), mergeInto: null, mergedFrom: null, state: null, source: 0, sourceWatermark: at });
    const absorbing: JourneyRecord = { kind: 'absorbing', customerId: 'u:U0', touchpoint: null, mergeInto: null, mergedFrom: 'a:A1', state: null };
    const transfer: JourneyRecord = { kind: 'transfer', customerId: 'u:U0', touchpoint: null, mergeInto: null, mergedFrom: 'a:A1', state: null };
    const watermark: JourneyRecord = { kind: 'watermark', customerId: '', touchpoint: null, mergeInto: null, mergedFrom: null, state: null, source: 0, sourceWatermark: T0 + 8 * DAY };
    const funnelOf = (order: Array<JourneyRecord | 'tick'>) => {
      const p = processor();
      const out = order.flatMap((r) => (r === 'tick' ? p.tick(LATER, { caughtUp: false }) : p.process(message(r))));
      return out.filter((r) => r.topic === topics.funnelEvents).map((r) => funnelCodec.decode(r.value as Buffer)).map((f) => `${f.kind} ${f.fromStage ?? '-'}>${f.stage}`).sort();
    };
    const start = [tp(EVENTS.adClicked, T0), absorbing, tp(EVENTS.productViewed, T0 + 2 * 60_000), watermark];
    const transferFirst = funnelOf([...start.slice(0, 2), transfer, ...start.slice(2), 'tick']);
    expect(transferFirst).toContain('conversion awareness>consideration');
    expect(funnelOf([...start, 'tick', transfer, 'tick'])).toEqual(transferFirst);
  });

  const MIN = 60_000;
  const stageRecord = (customerId: string, event: string, at: number): JourneyRecord => ({ kind: 'touchpoint', customerId, touchpoint: touch(customerId, event, at), mergeInto: null, mergedFrom: null, state: null });
  const merge = (from: string, into: string): JourneyRecord => ({ kind: 'merge', customerId: from, touchpoint: null, mergeInto: into, mergedFrom: null, state: null });
  const absorbing: JourneyRecord = { kind: 'absorbing', customerId: 'user', touchpoint: null, mergeInto: null, mergedFrom: 'anon', state: null };
  const transferOf = (out: Array<{ topic: string; value: unknown }>) => recordCodec.decode(out.find((r) => r.topic === topics.identifiedTouchpoints)!.value as Buffer);
  /** The absorbed owner: an ad click (awareness) by `anon`, then the merge notice; returns its transfer. */
  const transferFrom = (touched = true): JourneyRecord => {
    const owner = processor();
    if (touched) owner.process(message(stageRecord('anon', EVENTS.adClicked, T0)));
    return transferOf(owner.process(message(merge('anon', 'user'))));
  };
  const later = [stageRecord('user', EVENTS.productViewed, T0 + 5 * MIN), stageRecord('user', EVENTS.orderCompleted, T0 + 9 * MIN)];
  const funnelOf = (records: Array<{ topic: string; value: unknown }>) =>
    records
      .filter((r) => r.topic === topics.funnelEvents)
      .map((r) => funnelCodec.decode(r.value as Buffer))
      .map((f) => `${f.kind} ${f.fromStage ?? '-'}>${f.stage} ${f.customerId} ${f.eventId}`)
      .sort();
  const run = (order: JourneyRecord[]) => {
    const p = processor();
    return funnelOf(order.flatMap((r) => p.process(message(r))));
  };
  /** Merge waits count processing time from the notice: these start at T0. */
  const atT0 = () => processor(1, () => T0);

  it('one transfer carries both the sessions and the journey of the absorbed id, merged once however often it comes', () => {
    const owner = processor();
    owner.process(message(stageRecord('anon', EVENTS.orderCompleted, T0)));
    const transfer = transferOf(owner.process(message(merge('anon', 'user'))));
    const parts = decodeCustomerState(transfer.state!);
    expect(parts.sessions).not.toBeNull();
    expect(parts.journey).not.toBeNull();

    const survivor = processor();
    survivor.process(message(stageRecord('user', EVENTS.orderCompleted, T0 + 10 * 86_400_000)));
    const merged = survivor.process(message(transfer));
    expect(sessionsOf(merged)).toHaveLength(1); // the absorbed session, now the survivor's
    const once = structuredClone(survivor.stages.get('user'));
    expect(once?.purchases.repeatCount).toBe(1);
    expect(survivor.process(message(transfer))).toEqual([]);
    expect(survivor.stages.get('user')).toEqual(once);

    // The ledger survives a restore from the changelog.
    const restored = processor();
    for (const u of survivor.takeStateUpdates()) if (u.value) restored.restore(u.key, u.value);
    expect(restored.process(message(transfer))).toEqual([]);
    expect(restored.stages.get('user')).toEqual(once);
  });

  it('the funnel is the same whether the absorbed state arrives before or after the survivor’s next touchpoints', () => {
    const transfer = transferFrom();
    const stateFirst = run([absorbing, transfer, ...later]);
    expect(run([absorbing, ...later, transfer])).toEqual(stateFirst);
    // The product view converts from the absorbed id's awareness.
    expect(stateFirst.filter((f) => f.startsWith('conversion awareness>consideration'))).toHaveLength(1);
  });

  it('an absorbed id with no journey still sends a (stateless) transfer, which ends the wait', () => {
    const empty = transferFrom(false);
    expect(empty).toMatchObject({ kind: 'transfer', mergedFrom: 'anon', state: null });
    const p = processor();
    expect(p.process(message(absorbing))).toEqual([]);
    expect(p.process(message(later[0]!))).toEqual([]);
    expect(funnelOf(p.process(message(empty)))).toEqual([expect.stringMatching(/^entry ->consideration user /)]);
  });

  it('held records survive a restore, and a wait that outlives its limit is released', () => {
    const p = atT0();
    p.process(message(absorbing));
    p.process(message(later[0]!));
    expect(funnelOf(p.tick(T0 + 59_000, { caughtUp: true }))).toEqual([]);
    expect(funnelOf(p.tick(T0 + 61_000, { caughtUp: true }))).toEqual([expect.stringMatching(/^entry ->consideration user /)]);

    const q = atT0();
    q.process(message(absorbing));
    q.process(message(later[0]!));
    const restored = atT0();
    for (const u of q.takeStateUpdates()) if (u.value) restored.restore(u.key, u.value);
    // Restarted ten minutes later: the restart delayed the transfer too, so the clock starts again.
    expect(funnelOf(restored.tick(T0 + 600_000, { caughtUp: true }))).toEqual([]);
    expect(funnelOf(restored.tick(T0 + 659_000, { caughtUp: true }))).toEqual([]);
    expect(funnelOf(restored.tick(T0 + 661_000, { caughtUp: true }))).toEqual([expect.stringMatching(/^entry ->consideration user /)]);
  });

  it('a wait’s clock stands still while the partition has a backlog (the transfer is queued behind it)', () => {
    const p = atT0();
    p.process(message(absorbing));
    p.process(message(later[0]!));
    expect(funnelOf(p.tick(T0 + 600_000, { caughtUp: false }))).toEqual([]);
    expect(funnelOf(p.tick(T0 + 630_000, { caughtUp: true }))).toEqual([]);
    expect(funnelOf(p.tick(T0 + 661_000, { caughtUp: true }))).toEqual([expect.stringMatching(/^entry ->consideration user /)]);
    // However long the backlog, a wait ends after 12 × the limit.
    const q = atT0();
    q.process(message(absorbing));
    q.process(message(later[0]!));
    expect(funnelOf(q.tick(T0 + 719_000, { caughtUp: false }))).toEqual([]);
    expect(funnelOf(q.tick(T0 + 720_000, { caughtUp: false }))).toEqual([expect.stringMatching(/^entry ->consideration user /)]);
  });

  it('a record that still comes under an id merged away goes to the survivor, and starts no journey here', () => {
    const p = processor();
    p.process(message(stageRecord('anon', EVENTS.productViewed, T0)));
    p.process(message(merge('anon', 'user')));
    const out = p.process(message(stageRecord('anon', EVENTS.orderCompleted, T0 + MIN)));
    expect(out.map((r) => [r.topic, r.key])).toEqual([[topics.identifiedTouchpoints, 'user']]);
    expect(p.stages.get('anon')).toBeUndefined();
  });
});

describe('journey processor: state', () => {
  it('writes one changelog value per changed customer, holding its sessions and its journey, and restores both', () => {
    const p = processor();
    const order: JourneyRecord = { kind: 'touchpoint', customerId: 'u:1', touchpoint: touch('u:1', EVENTS.orderCompleted, T0), mergeInto: null, mergedFrom: null, state: null };
    p.process(message(order));
    const updates = p.takeStateUpdates().filter((u) => !u.key.includes(':') || u.key === 'u:1');
    expect(updates.map((u) => u.key)).toEqual(['u:1']);
    expect(p.takeStateUpdates()).toEqual([]);

    const restored = processor();
    restored.restore('u:1', updates[0]!.value!);
    expect(restored.stages.get('u:1')).toEqual(p.stages.get('u:1'));
    expect(restored.sessions.stats().openSessions).toBe(1);
    // The restored customer goes on exactly as the original: the next event joins its session.
    const second = message({ ...order, touchpoint: touch('u:1', EVENTS.productReviewed, T0 + 60_000, { messageId: 'second' }) });
    const next = restored.process(second);
    expect(sessionsOf(next).map((s) => s.eventCount)).toEqual([2]);
    expect(next).toEqual(p.process(second));
    expect(restored.stages.get('u:1')).toEqual(p.stages.get('u:1'));
  });

  it('counts a customer whose sessions and journey both changed once toward the flush cap', () => {
    const p = processor();
    for (const id of ['u:1', 'u:2', 'u:3']) {
      p.process(message({ kind: 'touchpoint', customerId: id, touchpoint: touch(id, EVENTS.productViewed, T0, { messageId: `m-${id}` }), mergeInto: null, mergedFrom: null, state: null }));
    }
    const changed = p.changedKeys();
    // One value per customer and one per source watermark: what the flush will write.
    expect(changed).toBe(p.takeStateUpdates().length);
    expect(p.changedKeys()).toBe(0);
  });

  it('a restore streaming the changelog takes a later value of a customer over the earlier one, and a tombstone deletes every part', () => {
    const p = processor();
    const order: JourneyRecord = { kind: 'touchpoint', customerId: 'u:1', touchpoint: touch('u:1', EVENTS.orderCompleted, T0), mergeInto: null, mergedFrom: null, state: null };
    p.process(message(order));
    const first = p.takeStateUpdates().find((u) => u.key === 'u:1')!.value!;
    p.process(message({ ...order, touchpoint: touch('u:1', EVENTS.productReviewed, T0 + 60_000, { messageId: 'second' }) }));
    const second = p.takeStateUpdates().find((u) => u.key === 'u:1')!.value!;

    const restored = processor();
    restored.restore('u:1', first);
    restored.restore('u:1', second);
    expect(restored.stages.get('u:1')).toEqual(p.stages.get('u:1'));
    expect(restored.sessions.stats().openSessions).toBe(1);
    restored.restore('u:1', null);
    expect(restored.stages.get('u:1')).toBeUndefined();
    expect(restored.sessions.stats()).toMatchObject({ customers: 0, openSessions: 0 });
    expect(restored.stages.nextDueAt()).toBeNull();
    expect(restored.takeStateUpdates().filter((u) => u.key === 'u:1')).toEqual([]);
  });

  it('a customer with neither part left is a tombstone', () => {
    const p = processor();
    p.process(message({ kind: 'touchpoint', customerId: 'anon', touchpoint: touch('anon', EVENTS.adClicked, T0), mergeInto: null, mergedFrom: null, state: null }));
    p.takeStateUpdates();
    p.process(message({ kind: 'merge', customerId: 'anon', touchpoint: null, mergeInto: 'user', mergedFrom: null, state: null }));
    expect(p.takeStateUpdates().find((u) => u.key === 'anon')).toEqual({ key: 'anon', value: null });
  });
});

describe('journey processor: event time, not the wall clock', () => {
  const MIN = 60_000;
  const DAY = 24 * 60 * MIN;
  const staged = (customerId: string, event: string, at: number): JourneyRecord => ({
    kind: 'touchpoint',
    customerId,
    touchpoint: { ...touch(customerId, event, at), sessionId: '' },
    mergeInto: null,
    mergedFrom: null,
    state: null,
    source: 0,
    sourceWatermark: at,
  });
  const kinds = (records: Array<{ topic: string; value: unknown }>) =>
    records.filter((r) => r.topic === topics.funnelEvents).map((r) => funnelCodec.decode(r.value as Buffer).kind);
  /** The router's watermark record for source 0 (it follows the touchpoints it routed). */
  const routed = (at: number): JourneyRecord => ({ kind: 'watermark', customerId: '', touchpoint: null, mergeInto: null, mergedFrom: null, state: null, source: 0, sourceWatermark: at });

  it('an import (events days behind the clock) keeps its sessions open and its conversion windows running on event time, however often an idle partition ticks', () => {
    const p = processor();
    const ticks = () => [1, 2, 3].flatMap((k) => p.tick(LATER + k * MIN, { caughtUp: true }));
    p.process(message(staged('c', EVENTS.productViewed, T0)));
    p.process(message(routed(T0)));
    expect(sessionsOf(ticks()).filter((s) => s.status === 'closed')).toEqual([]);
    expect(kinds(ticks())).not.toContain('dropoff');
    // 20 minutes later in event time: the same session; six days later: the purchase converts.
    const same = sessionsOf(p.process(message(staged('c', EVENTS.productViewed, T0 + 20 * MIN))));
    expect(same.at(-1)?.eventCount).toBe(2);
    p.process(message(routed(T0 + 20 * MIN)));
    ticks();
    const bought = p.process(message(staged('c', EVENTS.orderCompleted, T0 + 6 * DAY)));
    expect(kinds(bought)).toContain('conversion');
    p.process(message(routed(T0 + 6 * DAY)));
    // The import's own time closes the first session (its later event is 6 days on).
    expect(sessionsOf(ticks()).filter((s) => s.status === 'closed').map((s) => s.eventCount)).toEqual([2]);
  });

  it('a live source that goes idle follows the clock at the allowed lag: its sessions close and windows expire without new events', () => {
    const start = T0;
    const p = processor(1, () => start);
    p.process(message(staged('c', EVENTS.productViewed, start)));
    // Idle for 8 days of wall-clock time, ticking every minute, as a running service does.
    const out: Array<{ topic: string; value: unknown }> = [];
    for (let at = start + MIN; at <= start + 8 * DAY; at += MIN) out.push(...p.tick(at, { caughtUp: true }));
    expect(sessionsOf(out).filter((s) => s.status === 'closed').map((s) => s.eventCount)).toEqual([1]);
    expect(kinds(out)).toContain('dropoff');
  });

  describe('several sources', () => {
    const from = (source: number, customerId: string, event: string, at: number, sourceWatermark = at): JourneyRecord => ({ ...staged(customerId, event, at), source, sourceWatermark });
    const watermarkOf = (source: number, at: number | null): JourneyRecord => ({ ...routed(0), source, sourceWatermark: at });
    const closedOf = (p: ReturnType<typeof processor>, customerId: string, out: Array<{ topic: string; value: unknown }>) =>
      sessionsOf(out).filter((s) => s.customerId === customerId && s.status === 'closed').map((s) => s.eventCount);

    it('while one source replays, a source not heard from yet is not moved by the clock: its own replay, behind the first, still finds its sessions open', () => {
      const p = processor(2);
      // Source 0's part of an import is ten hours ahead of source 1's when an idle tick comes.
      p.process(message(from(0, 'c0', EVENTS.productViewed, T0 + 10 * 60 * MIN)));
      p.process(message(watermarkOf(0, T0 + 10 * 60 * MIN)));
      const out = p.tick(LATER, { caughtUp: true });
      p.process(message(from(1, 'c1', EVENTS.productViewed, T0)));
      p.process(message(watermarkOf(1, T0)));
      out.push(...p.tick(LATER, { caughtUp: true }));
      // 20 minutes later in source 1's time: the same session, not a second one.
      out.push(...p.process(message(from(1, 'c1', EVENTS.productViewed, T0 + 20 * MIN))));
      p.process(message(watermarkOf(1, T0 + 20 * MIN)));
      out.push(...p.tick(LATER, { caughtUp: true }));
      expect(closedOf(p, 'c1', out)).toEqual([]);
      expect(sessionsOf(out).filter((s) => s.customerId === 'c1').at(-1)?.eventCount).toBe(2);
      // Source 1 catches up with source 0: now c1's session closes, with both events.
      p.process(message(watermarkOf(1, T0 + 10 * 60 * MIN)));
      expect(closedOf(p, 'c1', p.tick(LATER, { caughtUp: true }))).toEqual([2]);
    });

    it('a source the router found empty is not waited for; its first touchpoint makes it count again', () => {
      const p = processor(2);
      p.process(message(watermarkOf(1, null))); // the router: partition 1 is empty
      p.process(message(from(0, 'c', EVENTS.productViewed, T0)));
      p.process(message(watermarkOf(0, T0)));
      p.process(message(from(0, 'c', EVENTS.productViewed, T0 + 6 * DAY)));
      p.process(message(watermarkOf(0, T0 + 8 * DAY)));
      const settled = p.tick(LATER, { caughtUp: true });
      expect(closedOf(p, 'c', settled)).toEqual([1, 1]);
      expect(kinds(settled)).toContain('dropoff');
      // Partition 1 gets touchpoints: until its watermark comes, event time waits for it.
      p.process(message(from(1, 'd', EVENTS.productViewed, T0 + 8 * DAY)));
      p.process(message(watermarkOf(0, T0 + 20 * DAY)));
      expect(closedOf(p, 'd', p.tick(LATER, { caughtUp: true }))).toEqual([]);
      p.process(message(watermarkOf(1, T0 + 20 * DAY)));
      expect(closedOf(p, 'd', p.tick(LATER, { caughtUp: true }))).toEqual([1]);
    });

    it('a source the router found empty stays out of the least after a restart: the router says it once (a never-written partition has no idle ticks of its own), and the clock does not stop', () => {
      const p = processor(2);
      p.process(message(watermarkOf(1, null))); // the router: partition 1 is empty (said once)
      p.process(message(from(0, 'c', EVENTS.productViewed, T0)));
      p.process(message(watermarkOf(0, T0)));
      const updates = p.takeStateUpdates();
      expect(updates.filter((u) => u.key === 'wm:1').map((u) => u.value?.toString())).toEqual(['empty']);
      const restarted = processor(2);
      for (const u of updates) restarted.restore(u.key, u.value);
      // Source 0 replays, far behind the wall clock; source 1 is not waited for: c's session closes.
      restarted.process(message(watermarkOf(0, T0 + DAY)));
      expect(closedOf(restarted, 'c', restarted.tick(LATER, { caughtUp: true }))).toEqual([1]);
      // Its first touchpoint makes it count again, and the changelog no longer says it is empty.
      restarted.process(message(from(1, 'd', EVENTS.productViewed, T0 + DAY)));
      expect(restarted.takeStateUpdates().filter((u) => u.key === 'wm:1').map((u) => u.value)).toEqual([null]);
      restarted.process(message(watermarkOf(0, T0 + 20 * DAY)));
      expect(closedOf(restarted, 'd', restarted.tick(LATER, { caughtUp: true }))).toEqual([]);
    });
  });
});

describe('journey processor: the history lane (sources P..2P-1, docs/history-lane.md)', () => {
  const MIN = 60_000;
  const DAY = 24 * 60 * MIN;
  /** The wall clock: live traffic is a hundred days after the imported history (T0). */
  const LIVE = T0 + 100 * DAY;
  const from = (source: number, customerId: string, at: number, sourceWatermark = at): JourneyRecord => ({
    kind: 'touchpoint',
    customerId,
    touchpoint: { ...touch(customerId, EVENTS.productViewed, at), sessionId: '' },
    mergeInto: null,
    mergedFrom: null,
    state: null,
    source,
    sourceWatermark,
  });
  const watermarkOf = (source: number, at: number | null): JourneyRecord => ({ kind: 'watermark', customerId: '', touchpoint: null, mergeInto: null, mergedFrom: null, state: null, source, sourceWatermark: at });
  const closed = (out: Array<{ topic: string; value: unknown }>, customerId: string) =>
    sessionsOf(out).filter((s) => s.customerId === customerId && s.status === 'closed').map((s) => s.eventCount);
  // One touchpoints partition (P = 1): source 0 is live, source 1 the history lane.
  const LIVE_SOURCE = 0;
  const HISTORY = 1;
  /** A partition with live traffic: customer `l` active at LIVE, its clock at the live time. */
  const withLiveTraffic = (now: () => number) => {
    const p = processor(1, now);
    p.process(message(from(LIVE_SOURCE, 'l', LIVE)));
    p.process(message(watermarkOf(LIVE_SOURCE, LIVE)));
    p.process(message(watermarkOf(HISTORY, null))); // the router: the history lane is empty
    p.tick(LIVE + MIN, { caughtUp: true });
    return p;
  };

  it('an import takes the clock back to its own time: its sessions follow its events, and an idle live session waits for the history-end notice', () => {
    let wall = LIVE + MIN;
    const p = withLiveTraffic(() => wall);
    const out: Array<{ topic: string; value: unknown }> = [];
    const idle = (minutes: number) => {
      for (let k = 0; k < minutes; k++) out.push(...p.tick((wall += MIN), { caughtUp: true }));
    };
    // The import's first event, 100 days behind the clock: a session of its own, not closed at the next tick.
    out.push(...p.process(message(from(HISTORY, 'h', T0))));
    idle(60);
    expect(closed(out, 'h')).toEqual([]);
    // An hour of wall clock later, 20 minutes later in the import's time: the same session.
    expect(sessionsOf(p.process(message(from(HISTORY, 'h', T0 + 20 * MIN)))).at(-1)?.eventCount).toBe(2);
    // The live customer has been idle for an hour of wall clock: its session stays open while the history trails.
    expect(closed(out, 'l')).toEqual([]);
    // The import's time moves on: its own session closes, by its own events' time.
    p.process(message(watermarkOf(HISTORY, T0 + 2 * 60 * MIN)));
    idle(1);
    expect(closed(out, 'h')).toEqual([2]);
    expect(closed(out, 'l')).toEqual([]);
    // The import ends: the history source is closed, the clock goes on with the live source's, and
    // the idle live session closes.
    p.process(message(watermarkOf(HISTORY, null)));
    idle(1);
    expect(closed(out, 'l')).toEqual([1]);
  });

  it('the closed lane is kept in the changelog: a restored partition does not wait for it', () => {
    let wall = LIVE + MIN;
    const p = withLiveTraffic(() => wall);
    p.process(message(from(HISTORY, 'h', T0)));
    p.process(message(watermarkOf(HISTORY, null)));
    const updates = p.takeStateUpdates();
    expect(updates.filter((u) => u.key === `wm:${HISTORY}`).map((u) => u.value?.toString())).toEqual(['closed']);
    const restored = processor(1, () => wall);
    for (const u of updates) restored.restore(u.key, u.value);
    // Ticking every minute, as a running service does: the live source follows the wall clock.
    const out: Array<{ topic: string; value: unknown }> = [];
    for (let k = 0; k < 60; k++) out.push(...restored.tick((wall += MIN), { caughtUp: true }));
    expect(closed(out, 'l')).toEqual([1]);
  });

  it('a restart during an import keeps the clock at the import’s time, although the live customers’ state was written at the live time', () => {
    let wall = LIVE + MIN;
    const p = withLiveTraffic(() => wall);
    const beforeImport = p.takeStateUpdates(); // l's value carries the live clock
    p.process(message(from(HISTORY, 'h', T0)));
    const duringImport = p.takeStateUpdates();
    const restored = processor(1, () => wall);
    // Whatever order the restore reads them in (here the live customer's value last).
    for (const u of [...duringImport, ...beforeImport.filter((b) => !duringImport.some((d) => d.key === b.key))]) restored.restore(u.key, u.value);
    const out: Array<{ topic: string; value: unknown }> = [];
    for (let k = 0; k < 60; k++) out.push(...restored.tick((wall += MIN), { caughtUp: true }));
    expect(closed(out, 'h')).toEqual([]);
    expect(closed(out, 'l')).toEqual([]);
    expect(sessionsOf(restored.process(message(from(HISTORY, 'h', T0 + 20 * MIN)))).at(-1)?.eventCount).toBe(2);
  });

  it('a second import after a history-end starts over at its own, earlier time', () => {
    let wall = LIVE + MIN;
    const p = withLiveTraffic(() => wall);
    p.process(message(from(HISTORY, 'h', T0 + 50 * DAY)));
    p.process(message(watermarkOf(HISTORY, null)));
    p.tick((wall += MIN), { caughtUp: true });
    // The next import is of older events: the source reopens at their time, and the clock goes back to it.
    const out = p.process(message(from(HISTORY, 'g', T0)));
    out.push(...p.tick((wall += 60 * MIN), { caughtUp: true }));
    out.push(...p.process(message(from(HISTORY, 'g', T0 + 20 * MIN))));
    expect(closed(out, 'g')).toEqual([]);
    expect(sessionsOf(out).filter((s) => s.customerId === 'g').at(-1)?.eventCount).toBe(2);
  });

  describe('two history sources (P = 2: sources 2 and 3)', () => {
    /** Two live sources, both at the live time, and an empty history lane. */
    const withTwoLiveSources = (now: () => number) => {
      const p = processor(2, now);
      p.process(message(from(0, 'l', LIVE)));
      for (const source of [0, 1]) p.process(message(watermarkOf(source, LIVE)));
      for (const source of [2, 3]) p.process(message(watermarkOf(source, null)));
      p.tick(LIVE + MIN, { caughtUp: true });
      return p;
    };

    it('an import beginning in one history source waits for the other’s begin: the clock does not run ahead on the first one alone', () => {
      let wall = LIVE + MIN;
      const p = withTwoLiveSources(() => wall);
      const out: Array<{ topic: string; value: unknown }> = [];
      p.process(message(watermarkOf(2, T0))); // source 2's begin
      out.push(...p.process(message(from(2, 'x', T0))));
      p.process(message(watermarkOf(2, T0 + DAY))); // source 2 is a day further already
      p.process(message(watermarkOf(3, null))); // an empty notice sent before source 3's begin
      out.push(...p.tick((wall += MIN), { caughtUp: true }));
      expect(closed(out, 'x')).toEqual([]);
      // Source 3's begin and first event: 20 minutes after x's, in the same customer's session.
      p.process(message(watermarkOf(3, T0 + 20 * MIN)));
      out.push(...p.process(message(from(3, 'x', T0 + 20 * MIN))));
      out.push(...p.tick((wall += MIN), { caughtUp: true }));
      expect(closed(out, 'x')).toEqual([]);
      expect(sessionsOf(out).filter((s) => s.customerId === 'x').at(-1)?.eventCount).toBe(2);
      // Source 3 moves on too: now the session closes.
      p.process(message(watermarkOf(3, T0 + DAY)));
      expect(closed(p.tick((wall += MIN), { caughtUp: true }), 'x')).toEqual([2]);
    });

    it('a source whose import began and ended before another’s begin came stays closed: the live clock comes back after the last end', () => {
      let wall = LIVE + MIN;
      const p = withTwoLiveSources(() => wall);
      const out: Array<{ topic: string; value: unknown }> = [];
      const idle = (minutes: number) => {
        for (let k = 0; k < minutes; k++) out.push(...p.tick((wall += MIN), { caughtUp: true }));
      };
      p.process(message(watermarkOf(2, T0)));
      p.process(message(watermarkOf(2, null))); // source 2: begin, end
      p.process(message(watermarkOf(3, T0))); // source 3's begin
      idle(30);
      expect(closed(out, 'l')).toEqual([]);
      p.process(message(watermarkOf(3, null))); // source 3's end
      idle(60);
      expect(closed(out, 'l')).toEqual([1]);
      // Both are kept closed.
      expect(p.takeStateUpdates().filter((u) => u.key === 'wm:2' || u.key === 'wm:3').map((u) => `${u.key}=${u.value?.toString()}`).sort()).toEqual(['wm:2=closed', 'wm:3=closed']);
    });
  });

  describe('the cap on what an open import makes the partition hold (historyMaxHeldEvents)', () => {
    const CAP = 5;
    /** A partition with the cap, counting what the journey step counts for it. */
    const capped = (now: () => number, sourcePartitions = 1) => {
      const seen = { demoted: 0, demotedLate: 0, demotedPlaced: 0, told: [] as unknown[] };
      const base = processorDeps(sourcePartitions, now);
      const p = createJourneyProcessor({
        ...base,
        historyMaxHeldEvents: CAP,
        onHistoryDemoted: (d) => seen.told.push(d),
        counters: {
          ...base.counters,
          historyDemoted: () => seen.demoted++,
          demotedTouchpoint: (late) => (late ? seen.demotedLate++ : seen.demotedPlaced++),
        },
      });
      return { p, seen };
    };
    const lateOf = (out: Array<{ topic: string; value: unknown }>) =>
      out.filter((r) => r.topic === topics.customerTouchpoints).map((r) => recordCodec.decode(r.value as Buffer).touchpoint!.late);
    const historyState = (updates: Array<{ key: string; value: Buffer | null }>, source = HISTORY) =>
      updates.filter((u) => u.key === `wm:${source}`).map((u) => u.value?.toString());

    it('past the cap the import is demoted: the clock goes on with the live source, the held live sessions close, and the rest of the import is late until its end; counted and told once; kept across a restart; the next import starts fresh', () => {
      let wall = LIVE + MIN;
      const { p, seen } = capped(() => wall);
      p.process(message(from(LIVE_SOURCE, 'l', LIVE)));
      p.process(message(watermarkOf(LIVE_SOURCE, LIVE)));
      p.process(message(watermarkOf(HISTORY, null)));
      const out: Array<{ topic: string; value: unknown }> = [];
      const idle = (minutes: number) => {
        for (let k = 0; k < minutes; k++) out.push(...p.tick((wall += MIN), { caughtUp: true }));
      };
      // The import begins 100 days behind: the clock goes back, and the live sessions are held.
      out.push(...p.process(message(from(HISTORY, 'h', T0))));
      idle(60);
      expect(closed(out, 'l')).toEqual([]);
      // Live customers come and go. The cap counts what was kept since the import began (l's one
      // event was kept before): h and four more, at the cap, change nothing.
      for (const k of [1, 2, 3, 4]) out.push(...p.process(message(from(LIVE_SOURCE, `l${k}`, wall - 5 * MIN))));
      expect(p.sessions.keptEvents()).toBe(1 + CAP);
      idle(1);
      expect(seen.demoted).toBe(0);
      expect(closed(out, 'l')).toEqual([]);
      // One more is over it: the import is demoted, once, and told with what it held.
      out.push(...p.process(message(from(LIVE_SOURCE, 'l5', wall - 5 * MIN))));
      expect(seen.demoted).toBe(1);
      expect(seen.told).toEqual([{ sources: [HISTORY], keptEvents: CAP + 2, keptAtBegin: 1, cap: CAP, importTime: T0, liveTime: wall - 5 * MIN }]);
      // The clock goes on with the live source: l's session and the import's first session close.
      idle(1);
      expect(closed(out, 'l')).toEqual([1]);
      expect(closed(out, 'h')).toEqual([1]);
      // The rest of the import is judged against the live clock: late, kept and flagged; its
      // watermarks no longer take the clock back.
      const rest = p.process(message(from(HISTORY, 'h', T0 + 20 * MIN)));
      expect(lateOf(rest)).toEqual([true]);
      p.process(message(watermarkOf(HISTORY, T0 + DAY)));
      out.push(...p.process(message(from(LIVE_SOURCE, 'l6', wall - 5 * MIN))));
      idle(60);
      expect(closed(out, 'l6')).toEqual([1]);
      expect({ demoted: seen.demoted, late: seen.demotedLate, placed: seen.demotedPlaced }).toEqual({ demoted: 1, late: 1, placed: 0 });
      // Kept in the changelog: a restarted partition goes on with the live clock, the import still demoted.
      const updates = p.takeStateUpdates();
      expect(historyState(updates)).toEqual(['demoted']);
      const restarted = capped(() => wall);
      for (const u of updates) restarted.p.restore(u.key, u.value);
      expect(lateOf(restarted.p.process(message(from(HISTORY, 'h2', T0 + 30 * MIN))))).toEqual([true]);
      expect(restarted.seen.demotedLate).toBe(1);
      // Its end closes it; the next import opens as any does: its clock, its sessions, and its own cap.
      restarted.p.process(message(watermarkOf(HISTORY, null)));
      expect(historyState(restarted.p.takeStateUpdates())).toEqual(['closed']);
      const next = restarted.p.process(message(from(HISTORY, 'g', T0 + 2 * DAY)));
      next.push(...restarted.p.tick((wall += 60 * MIN), { caughtUp: true }));
      next.push(...restarted.p.process(message(from(HISTORY, 'g', T0 + 2 * DAY + 20 * MIN))));
      expect(lateOf(next)).toEqual([false, false]);
      expect(sessionsOf(next).filter((s) => s.customerId === 'g').at(-1)?.eventCount).toBe(2);
      expect(restarted.seen.demoted).toBe(0);
    });

    it('counts what was kept since the import began, not what live traffic kept before it, across a restart', () => {
      let wall = LIVE + MIN;
      const { p, seen } = capped(() => wall);
      p.process(message(watermarkOf(LIVE_SOURCE, LIVE)));
      p.process(message(watermarkOf(HISTORY, null)));
      // Live traffic keeps 3 × CAP events of open sessions before any import: that is not the import's.
      for (let k = 0; k < 3 * CAP; k++) p.process(message(from(LIVE_SOURCE, `before${k}`, LIVE)));
      p.process(message(from(HISTORY, 'h', T0)));
      for (let k = 0; k < 3; k++) p.process(message(from(LIVE_SOURCE, `during${k}`, LIVE)));
      expect(seen.demoted).toBe(0);
      const updates = p.takeStateUpdates();
      expect(updates.filter((u) => u.key === 'wm:base').map((u) => u.value?.toString())).toEqual([String(3 * CAP)]);
      // Restarted: 4 kept since the begin; two more are over the cap.
      const restarted = capped(() => wall);
      for (const u of updates) restarted.p.restore(u.key, u.value);
      restarted.p.process(message(from(LIVE_SOURCE, 'after0', LIVE)));
      expect(restarted.seen.demoted).toBe(0);
      restarted.p.process(message(from(LIVE_SOURCE, 'after1', LIVE)));
      expect(restarted.seen.told).toMatchObject([{ keptEvents: 3 * CAP + CAP + 1, keptAtBegin: 3 * CAP }]);
    });

    it('an import ahead of the live sources holds nothing back: past the cap it is demoted only once the live sources pass it', () => {
      let wall = LIVE + MIN;
      const { p, seen } = capped(() => wall);
      p.process(message(from(LIVE_SOURCE, 'l', LIVE - DAY)));
      p.process(message(watermarkOf(LIVE_SOURCE, LIVE - DAY))); // a live source replaying a backlog, a day behind
      p.process(message(watermarkOf(HISTORY, null)));
      for (let k = 0; k < 2 * CAP; k++) p.process(message(from(HISTORY, `h${k}`, LIVE - 60 * MIN + k)));
      expect(p.sessions.keptEvents()).toBeGreaterThan(CAP);
      expect(seen.demoted).toBe(0);
      expect(historyState(p.takeStateUpdates())).toEqual([String(LIVE - 60 * MIN)]);
      // The backlog is through: the live source is ahead now, and the import holds its clock back.
      p.process(message(watermarkOf(LIVE_SOURCE, LIVE)));
      p.process(message(from(LIVE_SOURCE, 'l', LIVE)));
      expect(seen.told).toMatchObject([{ sources: [HISTORY], importTime: LIVE - 60 * MIN, liveTime: LIVE }]);
    });

    it('a source still waited for (pending) is demoted with the import: its begin no longer holds the clock, an empty notice sent before that begin does not close it, its end does', () => {
      let wall = LIVE + MIN;
      const { p, seen } = capped(() => wall, 2);
      p.process(message(from(0, 'l', LIVE)));
      for (const source of [0, 1]) p.process(message(watermarkOf(source, LIVE)));
      for (const source of [2, 3]) p.process(message(watermarkOf(source, null)));
      p.process(message(from(2, 'h', T0))); // source 2 begins: source 3 is pending
      for (let k = 1; k <= CAP; k++) p.process(message(from(0, `l${k}`, LIVE)));
      expect(seen.told).toMatchObject([{ sources: [2, 3], importTime: -Infinity }]);
      const updates = p.takeStateUpdates();
      expect([...historyState(updates, 2), ...historyState(updates, 3)]).toEqual(['demoted', 'demoted-pending']);
      p.process(message(watermarkOf(3, null))); // sent before source 3's begin
      p.process(message(watermarkOf(3, T0 + DAY))); // its begin
      expect(historyState(p.takeStateUpdates(), 3)).toEqual(['demoted']);
      const out: Array<{ topic: string; value: unknown }> = [];
      for (let k = 0; k < 60; k++) out.push(...p.tick((wall += MIN), { caughtUp: true }));
      expect(closed(out, 'l')).toEqual([1]);
      for (const source of [2, 3]) p.process(message(watermarkOf(source, null))); // the ends
      const ended = p.takeStateUpdates();
      expect([...historyState(ended, 2), ...historyState(ended, 3)]).toEqual(['closed', 'closed']);
    });
  });

  it('a history source never heard from is not waited for: without an import, the live clock is as before', () => {
    const start = LIVE;
    const p = processor(1, () => start);
    p.process(message(from(LIVE_SOURCE, 'l', start)));
    const out: Array<{ topic: string; value: unknown }> = [];
    for (let at = start + MIN; at <= start + 60 * MIN; at += MIN) out.push(...p.tick(at, { caughtUp: true }));
    expect(closed(out, 'l')).toEqual([1]);
  });
});

describe('journey processor, bundles', () => {
  const bundleOf = (records: JourneyRecord[], value?: Buffer): KafkaMessage =>
    ({ offset: String(offset++), key: null, value: value ?? encodeBundle(records.map((r) => ({ key: r.customerId, value: recordCodec.encode(r) }))), timestamp: '0', attributes: 0, headers: bundleHeaders() }) as KafkaMessage;

  it('processes every member of a bundle in order, as the same records one by one', () => {
    const records = [touchRecord('c1', 'b1', 1_000), touchRecord('c2', 'b2', 1_500), touchRecord('c1', 'b3', 2_000)];
    const oneByOne = processor();
    const plain = records.flatMap((r) => oneByOne.process(message(r)));
    const bundled = processor().process(bundleOf(records));
    const view = (out: Array<{ topic: string; key: string | null }>) => out.map((r) => [r.topic, r.key]);
    expect(view(bundled)).toEqual(view(plain));
    expect(bundled.filter((r) => r.topic === topics.customerTouchpoints)).toHaveLength(3);
  });

  it('dead-letters an unreadable bundle as a whole, and an undecodable member alone', () => {
    const p = processor();
    const broken = p.process(bundleOf([], Buffer.from([5, 1])));
    expect(broken.map((r) => r.topic)).toEqual([topics.deadLetter]);
    const good = touchRecord('c1', 'ok', 1_000);
    const mixed = p.process(({ ...bundleOf([]), value: encodeBundle([{ key: 'x', value: Buffer.from([0xff, 0xff]) }, { key: 'c1', value: recordCodec.encode(good) }]) }) as KafkaMessage);
    expect(mixed.filter((r) => r.topic === topics.deadLetter)).toHaveLength(1);
    expect(mixed.filter((r) => r.topic === topics.customerTouchpoints)).toHaveLength(1);
  });
});

describe('journey processor: records whose fields do not fit their kind', () => {
  /** The bare Avro envelope, which admits any mix of its nullable fields (the topic codec does not). */
  const envelope = codecFor<Record<string, unknown>>('journey-record');
  const none = { touchpoint: null, mergeInto: null, mergedFrom: null, state: null };
  const raw = (fields: Record<string, unknown>): KafkaMessage =>
    ({ offset: String(offset++), key: Buffer.from(String(fields.customerId)), value: envelope.encode({ ...none, ...fields }), timestamp: '0', attributes: 0, headers: {} }) as KafkaMessage;
  const malformed: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a touchpoint without its touchpoint', { kind: 'touchpoint', customerId: 'u:1' }, /invalid 'touchpoint' record: touchpoint: /],
    ['a merge without a survivor', { kind: 'merge', customerId: 'a:1' }, /invalid 'merge' record: mergeInto: /],
    ['a merge into itself', { kind: 'merge', customerId: 'a:1', mergeInto: 'a:1' }, /mergeInto: a customer cannot be merged into itself/],
    ['an absorbing notice without the absorbed id', { kind: 'absorbing', customerId: 'u:1' }, /invalid 'absorbing' record: mergedFrom: /],
    ['a transfer without the absorbed id', { kind: 'transfer', customerId: 'u:1', state: Buffer.from([1]) }, /invalid 'transfer' record: mergedFrom: /],
    ['a watermark without its source', { kind: 'watermark', customerId: '', sourceWatermark: 5 }, /invalid 'watermark' record: source: /],
    ['a watermark of a router input the pipeline does not have', { kind: 'watermark', customerId: '', source: 2, sourceWatermark: 5 }, /watermark of router input 2: the touchpoints topics have 1 partitions each \(sources 0\.\.1\)/],
    ['a forget without a customer', { kind: 'forget', customerId: '' }, /invalid 'forget' record: customerId: /],
    ['a merge that also carries a state', { kind: 'merge', customerId: 'a:1', mergeInto: 'u:1', state: Buffer.from([1]) }, /invalid 'merge' record: state: /],
    ['a kind the protocol does not have', { kind: 'split', customerId: 'u:1' }, /invalid 'split' record: kind: /],
  ];

  it.each(malformed)('dead-letters %s with the reason, and changes no state', (_name, fields, reason) => {
    let deadLetters = 0;
    const p = createJourneyProcessor({ ...processorDeps(), counters: { ...processorDeps().counters, deadLetter: () => void deadLetters++ } });
    const message = raw(fields);
    const out = p.process(message);
    expect(out.map((r) => r.topic)).toEqual([topics.deadLetter]);
    expect(out[0]!.key).toBe(`${topics.identifiedTouchpoints}:${message.offset}`);
    const dead = topicCodecs.deadLetter().decode(out[0]!.value as Buffer);
    expect(dead).toMatchObject({ sourceTopic: topics.identifiedTouchpoints, stage: 'journey', key: String(fields.customerId), payload: message.value!.toString('base64') });
    expect(dead.reason).toMatch(reason);
    expect(deadLetters).toBe(1);
    expect(p.takeStateUpdates()).toEqual([]);
  });

  it('dead-letters a malformed member of a bundle alone and handles the others', () => {
    const p = processor();
    const members = [
      { key: 'u:1', value: recordCodec.encode(touchRecord('u:1', 'm1', 1_000)) },
      { key: 'a:1', value: envelope.encode({ ...none, kind: 'merge', customerId: 'a:1' }) },
      { key: 'u:1', value: recordCodec.encode(touchRecord('u:1', 'm2', 2_000)) },
    ];
    const out = p.process({ offset: String(offset++), key: null, value: encodeBundle(members), timestamp: '0', attributes: 0, headers: bundleHeaders() } as KafkaMessage);
    expect(out.filter((r) => r.topic === topics.customerTouchpoints)).toHaveLength(2);
    const dead = out.filter((r) => r.topic === topics.deadLetter).map((r) => topicCodecs.deadLetter().decode(r.value as Buffer));
    expect(dead).toEqual([expect.objectContaining({ key: 'a:1', reason: expect.stringMatching(/invalid 'merge' record: mergeInto: /) })]);
  });
});

describe('journey processor: a forget record (a deletion, README: Privacy)', () => {
  it('drops the customer\'s sessions, journey and forward entry with tombstones and no output, and leaves others alone', () => {
    const p = processor();
    p.process(message(touchRecord('u:alice', 'a1', T0)));
    p.process(message(touchRecord('u:bob', 'b1', T0)));
    // a:dev was merged into u:alice here: its forward entry names both.
    p.process(message(touchRecord('a:dev', 'd1', T0)));
    p.process(message({ kind: 'merge', customerId: 'a:dev', touchpoint: null, mergeInto: 'u:alice', mergedFrom: null, state: null }));
    p.takeStateUpdates();
    expect(p.process(message({ kind: 'forget', customerId: 'u:alice', touchpoint: null, mergeInto: null, mergedFrom: null, state: null }))).toEqual([]);
    expect(p.process(message({ kind: 'forget', customerId: 'a:dev', touchpoint: null, mergeInto: null, mergedFrom: null, state: null }))).toEqual([]);
    const updates = p.takeStateUpdates();
    expect(updates.filter((u) => u.value !== null).map((u) => u.key)).toEqual([]);
    expect(updates.map((u) => u.key).sort()).toEqual(['fwd:a:dev', 'u:alice']);
    expect(p.sessions.snapshot('u:alice')).toBeNull();
    expect(p.stages.snapshot('u:alice')).toBeNull();
    expect(p.sessions.snapshot('u:bob')).not.toBeNull();
    // A later record still keyed by the absorbed id is no longer forwarded to the forgotten survivor.
    const later = p.process(message(touchRecord('a:dev', 'd2', T0 + 1_000)));
    expect(later.some((r) => r.topic === topics.identifiedTouchpoints && r.key === 'u:alice')).toBe(false);
  });
});

describe('journey processor: touchpoint records of forgotten ids (a re-read of identified-touchpoints)', () => {
  const anonRecord = (customerId: string, anonymousId: string, messageId: string, receivedAt: number): JourneyRecord => ({
    ...touchRecord(customerId, messageId, receivedAt),
    touchpoint: { customerId, accountId: null, sessionId: '', late: false, touchpoint: touchpoint({ messageId, anonymousId, timestamp: receivedAt }) },
  });

  it('drops those received up to the deletion, with no output and no state, and keeps later ones (not suppressed) and everyone else', () => {
    const forgotten = new ForgottenIds();
    forgotten.add(forgottenIdHash('a:alice-phone'), { deletionId: 'd1', at: T0 + 1_000, suppress: false });
    const p = processor(1, () => LATER, { forgotten });
    const out = p.process(message(anonRecord('u:alice', 'alice-phone', 'a1', T0)));
    expect(out).toEqual([]);
    expect(p.sessions.snapshot('u:alice')).toBeNull();
    expect(p.takeStateUpdates().map((u) => u.key)).toEqual([]);
    expect(p.process(message(anonRecord('u:bob', 'bob-laptop', 'b1', T0))).filter((r) => r.topic === topics.customerTouchpoints)).toHaveLength(1);
    // Received after the deletion and not suppressed: a new customer's data, kept.
    expect(p.process(message(anonRecord('a:alice-phone', 'alice-phone', 'a2', T0 + 2_000))).filter((r) => r.topic === topics.customerTouchpoints)).toHaveLength(1);
  });
});

describe('journey processor, sessions: versions held to coalesce them', () => {
  it('sends the newest version of each session once per interval, all held ones before a state flush, and none of a forgotten customer', () => {
    const step = processor(1, () => LATER, { sessionOutputIntervalMs: 1_000 });
    const sent: SessionRecord[] = [];
    for (const [i, at] of [1_000, 2_000, 3_000].entries()) sent.push(...sessionsOf(step.process(message(touchRecord('c', `h${i}`, at)))));
    expect(sent).toEqual([]); // held
    sent.push(...sessionsOf(step.tick(10_000, { caughtUp: false })));
    expect(sent.map((s) => s.eventCount)).toEqual([3]); // one row for three versions
    step.process(message(touchRecord('c', 'h3', 4_000)));
    step.process(message(touchRecord('d', 'd0', 4_000)));
    expect(sessionsOf(step.tick(10_500, { caughtUp: false }))).toEqual([]); // within the interval
    const drained = sessionsOf(step.drain!());
    expect(drained.map((s) => [s.customerId, s.eventCount]).sort()).toEqual([['c', 4], ['d', 1]]);
    expect(step.drain!()).toEqual([]);
    step.process(message(touchRecord('e', 'e0', 5_000)));
    step.process(message({ kind: 'forget', customerId: 'e', touchpoint: null, mergeInto: null, mergedFrom: null, state: null }));
    expect(step.drain!()).toEqual([]);
  });

  it('gives the same last version of every session as sending each at once', () => {
    const times = [0, 60_000, 30 * 60_000, 95 * 60_000, 96 * 60_000];
    const newest = (records: SessionRecord[]) => [...new Map(records.sort((a, b) => a.version - b.version).map((s) => [s.sessionId, s])).values()];
    const run = (interval: number) => {
      const step = processor(1, () => LATER, { sessionOutputIntervalMs: interval });
      const out: SessionRecord[] = [];
      times.forEach((at, i) => {
        out.push(...sessionsOf(step.process(message(touchRecord('c', `s${i}`, at)))));
        out.push(...sessionsOf(step.tick(i * 400, { caughtUp: false })));
      });
      out.push(...sessionsOf(step.drain?.() ?? []));
      return out;
    };
    const atOnce = run(0);
    const held = run(1_000);
    expect(held.length).toBeLessThan(atOnce.length);
    expect(newest(held).map(({ sessionId, version, eventCount, status }) => ({ sessionId, version, eventCount, status }))).toEqual(
      newest(atOnce).map(({ sessionId, version, eventCount, status }) => ({ sessionId, version, eventCount, status })),
    );
  });
});
