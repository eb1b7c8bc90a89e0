import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { EVENTS } from '../../schemas/event-names.js';
import type { JourneyRecord } from '../../schemas/journey.js';
import { topicCodecs, topicsWithPrefix } from '../../schemas/topics.js';
import type { OutgoingRecord } from '../platform/kafka/producer.js';
import { MergeLedger } from '../platform/streams/merge-ledger.js';
import type { StateUpdate } from '../platform/streams/stateful-handler.js';
import { sessionizerConfig } from './core/sessions.js';
import { stageByEventName } from './core/test-touchpoint.js';
import { parseEnv } from '../platform/config/env.js';
import { SessionizerEnv } from './config.js';
import { checkEvictionLimits, type EvictionLimits } from './idle-eviction.js';
import { sessionSettings } from './settings.js';
import { createJourneyProcessor } from './journey-processor.js';
import { defaultStagesCoreConfig } from './stages/stages-config.js';
import { loadShippedChurnModel, loadShippedStageRules, T0, touch } from './stages/testing.js';

const DAY = 86_400_000;
const GRACE = 10 * 60_000;
const LIMITS: EvictionLimits = { customerIdleMs: 400 * DAY, mergeLedgerIdleMs: 30 * DAY };
const topics = topicsWithPrefix('t.');
const recordCodec = topicCodecs.identifiedTouchpoints();
const transitionCodec = topicCodecs.stageTransitions();

/** A journey processor with one source partition; `wallClock` is its processing clock (never used for eviction). */
function journeyStep(wallClock: () => number = () => T0) {
  const evicted: string[] = [];
  const processor = createJourneyProcessor({
    sourcePartitions: 1,
    mergeWait: { maxWaitMs: 60_000, maxHeld: 100, maxHeldBytes: 1 << 20 },
    eviction: LIMITS,
    topics,
    codecs: { record: recordCodec, session: topicCodecs.sessions(), transition: transitionCodec, funnel: topicCodecs.funnelEvents(), churn: topicCodecs.churnScores() },
    sessions: sessionizerConfig(stageByEventName, { graceMs: GRACE }),
    stages: { rules: loadShippedStageRules('ecommerce.yaml'), config: defaultStagesCoreConfig(), churn: loadShippedChurnModel() },
    tickLimit: 1_000,
    maxEventLagMs: 5 * 60_000,
    counters: {
      duplicates: () => {},
      late: () => {},
      sessionsClosed: () => {},
      touchpoints: () => {},
      transitions: () => {},
      churnAlerts: () => {},
      deadLetter: () => {},
      mergeWaitsExpired: () => {},
      mergeWaitsFull: () => {},
      bounded: () => {},
      oversizedOutput: () => {},
      idleTick: () => {},
      customersEvicted: (how, n) => evicted.push(`${how} ${n}`),
      mergeLedgerEvicted: (n) => evicted.push(`ledger ${n}`),
    },
    now: wallClock,
  });
  let offset = 0;
  const feed = (record: JourneyRecord): OutgoingRecord[] =>
    processor.process({ offset: String(offset++), key: null, value: recordCodec.encode(record), timestamp: '0', attributes: 0, headers: {} } as KafkaMessage);
  /** Ticks until the eviction round is through (each tick visits at most tickLimit keys per store). */
  const settle = (): OutgoingRecord[] => Array.from({ length: 5 }, () => processor.tick(wallClock(), { caughtUp: false })).flat();
  return { processor, feed, settle, evicted };
}

const event = (customerId: string, name: string, at: number): JourneyRecord => ({
  kind: 'touchpoint',
  customerId,
  touchpoint: touch(customerId, name, at),
  mergeInto: null,
  mergedFrom: null,
  state: null,
  source: 0,
  sourceWatermark: at,
});
/** The router's watermark for source 0: the partition's event time becomes `at` less the grace period. */
const watermark = (at: number): JourneyRecord => ({ kind: 'watermark', customerId: '', touchpoint: null, mergeInto: null, mergedFrom: null, state: null, source: 0, sourceWatermark: at + GRACE });
const transitions = (out: OutgoingRecord[]) =>
  out.filter((r) => r.topic === topics.stageTransitions).map((r) => transitionCodec.decode(r.value as Buffer)).map((t) => `${t.customerId} ${t.fromStage ?? '-'}>${t.toStage} #${t.journeyNumber}`);
/** Folds state updates as the compacted changelog keeps them: the latest per key, a tombstone deletes. */
const fold = (changelog: Map<string, Buffer>, updates: StateUpdate[]) => {
  for (const u of updates) {
    if (u.value === null) changelog.delete(u.key);
    else changelog.set(u.key, u.value);
  }
  return changelog;
};

describe('idle eviction in the journey step (event time)', () => {
  it('a customer silent for the idle time of event time leaves memory with a tombstone; its next event starts from scratch', () => {
    const step = journeyStep();
    step.feed(event('gone', EVENTS.orderCompleted, T0));
    step.feed(event('kept', EVENTS.adClicked, T0 + 2 * DAY));
    step.settle();
    const changelog = fold(new Map(), step.processor.takeStateUpdates());
    expect(changelog.has('gone')).toBe(true);

    // One day short of the idle time: nothing goes.
    step.feed(watermark(T0 + LIMITS.customerIdleMs - DAY));
    step.settle();
    expect(step.processor.stages.get('gone')).toBeDefined();
    expect(step.evicted).toEqual([]);

    step.feed(watermark(T0 + LIMITS.customerIdleMs + DAY));
    step.settle();
    const updates = step.processor.takeStateUpdates();
    expect(updates).toContainEqual({ key: 'gone', value: null });
    expect(updates.some((u) => u.key === 'kept' && u.value === null)).toBe(false);
    expect(step.processor.stages.get('gone')).toBeUndefined();
    expect(step.processor.stages.get('kept')).toBeDefined();
    expect(step.evicted).toEqual(['idle 1']);
    expect(fold(changelog, updates).has('gone')).toBe(false);

    // Back: a new customer, a first journey from no stage (its purchase is forgotten).
    const back = step.feed(event('gone', EVENTS.productViewed, T0 + LIMITS.customerIdleMs + 2 * DAY));
    expect(transitions(back)).toEqual(['gone ->consideration #1']);
    expect(step.processor.stages.get('gone')!.purchases.firstAt).toBeNull();
  });

  it('the wall clock evicts nothing: only the partition’s event time does', () => {
    const step = journeyStep(() => T0 + 3 * LIMITS.customerIdleMs);
    step.feed(event('a', EVENTS.orderCompleted, T0));
    step.feed(watermark(T0 + DAY));
    step.settle();
    expect(step.processor.stages.get('a')).toBeDefined();
    expect(step.processor.takeStateUpdates().some((u) => u.value === null)).toBe(false);
  });

  it('the customer’s own event after the idle time finds it evicted, whether a round ran first or not', () => {
    const returnAfter = (gap: number, round: boolean) => {
      const step = journeyStep();
      step.feed(event('a', EVENTS.orderCompleted, T0));
      if (round) {
        step.feed(watermark(T0 + gap));
        step.settle();
      }
      return { out: transitions(step.feed(event('a', EVENTS.productViewed, T0 + gap))), evicted: step.evicted };
    };
    const after = LIMITS.customerIdleMs + DAY;
    expect(returnAfter(after, false)).toEqual({ out: ['a ->consideration #1'], evicted: ['returned 1'] });
    expect(returnAfter(after, true)).toEqual({ out: ['a ->consideration #1'], evicted: ['idle 1'] });
    // Just before the idle time the customer keeps its journey (a purchaser viewing a product moves nowhere).
    expect(returnAfter(LIMITS.customerIdleMs - DAY, false)).toEqual({ out: [], evicted: [] });
    expect(returnAfter(LIMITS.customerIdleMs - DAY, true)).toEqual({ out: [], evicted: [] });
  });

  it('a restore from the changelog does not bring an evicted customer back: its return gives the same result', () => {
    const step = journeyStep();
    step.feed(event('a', EVENTS.orderCompleted, T0));
    step.feed(event('b', EVENTS.orderCompleted, T0 + LIMITS.customerIdleMs));
    const changelog = fold(new Map(), step.processor.takeStateUpdates());
    step.feed(watermark(T0 + LIMITS.customerIdleMs + DAY));
    step.settle();
    fold(changelog, step.processor.takeStateUpdates());
    expect([...changelog.keys()].filter((k) => !k.startsWith('wm:')).sort()).toEqual(['b']);

    const restarted = journeyStep();
    for (const [key, value] of changelog) restarted.processor.restore(key, value);
    expect(restarted.processor.stages.get('a')).toBeUndefined();
    const back = restarted.feed(event('a', EVENTS.productViewed, T0 + LIMITS.customerIdleMs + 2 * DAY));
    expect(transitions(back)).toEqual(['a ->consideration #1']);
    // b, active within the idle time, was restored with its journey: a product view moves it nowhere.
    expect(transitions(restarted.feed(event('b', EVENTS.productViewed, T0 + LIMITS.customerIdleMs + 2 * DAY)))).toEqual([]);
  });

  it('merge-ledger entries (forwards and imports) leave the ledger idle time after their merge, with tombstones', () => {
    const owner = journeyStep();
    owner.feed(watermark(T0));
    owner.feed(event('anon', EVENTS.adClicked, T0));
    const transfer = recordCodec.decode(
      owner.feed({ kind: 'merge', customerId: 'anon', touchpoint: null, mergeInto: 'user', mergedFrom: null, state: null }).find((r) => r.topic === topics.identifiedTouchpoints)!.value as Buffer,
    );
    const survivor = journeyStep();
    survivor.feed(watermark(T0));
    survivor.feed(event('user', EVENTS.adClicked, T0));
    survivor.feed(transfer);
    expect(owner.processor.takeStateUpdates().map((u) => u.key)).toContain('fwd:anon');
    expect(survivor.processor.takeStateUpdates().map((u) => u.key)).toContain('imp:anon');

    for (const step of [owner, survivor]) {
      step.feed(watermark(T0 + LIMITS.mergeLedgerIdleMs - DAY));
      step.settle();
      expect(step.processor.takeStateUpdates().filter((u) => u.value === null)).toEqual([]);
      step.feed(watermark(T0 + LIMITS.mergeLedgerIdleMs + DAY));
      step.settle();
      expect(step.evicted).toEqual(['ledger 1']);
    }
    expect(owner.processor.takeStateUpdates()).toContainEqual({ key: 'fwd:anon', value: null });
    expect(survivor.processor.takeStateUpdates()).toContainEqual({ key: 'imp:anon', value: null });
    // With its forward gone, a late record under the absorbed id is a customer of its own again.
    expect(transitions(owner.feed(event('anon', EVENTS.adClicked, T0 + LIMITS.mergeLedgerIdleMs + 2 * DAY)))).toEqual(['anon ->awareness #1']);
  });

  it('refuses an idle time not longer than the longest journey window', () => {
    const stages = defaultStagesCoreConfig();
    expect(() => checkEvictionLimits({ ...LIMITS, customerIdleMs: 180 * DAY }, stages, null)).toThrow(/longer than the longest journey window \(180 days/);
    expect(checkEvictionLimits(LIMITS, stages, null)).toEqual(LIMITS);
    // From the environment: the defaults, and a start refused with the setting's name.
    expect(sessionSettings(parseEnv(SessionizerEnv, {})).eviction).toEqual(LIMITS);
    expect(() => sessionSettings(parseEnv(SessionizerEnv, { SESSIONIZER_EVICT_IDLE_DAYS: '90' }))).toThrow(/SESSIONIZER_EVICT_IDLE_DAYS \(90 days\)/);
  });
});

describe('MergeLedger eviction', () => {
  it('keeps each entry’s event time in its changelog value; an entry written without one is aged from its first check', () => {
    const ledger = new MergeLedger('fwd:');
    ledger.firstTime('a', 'user', 1_000);
    const restored = new MergeLedger('fwd:');
    for (const u of ledger.drainUpdates()) restored.restore(u.key, u.value!);
    restored.restore('fwd:old', Buffer.from('user2')); // written before entries carried their time
    expect(restored.survivorOf('a')).toBe('user');
    expect(restored.survivorOf('old')).toBe('user2');

    expect(restored.evictIdle(1_500, 1_000, 10, true)).toBe(0);
    const stamped = restored.drainUpdates();
    expect(stamped.map((u) => u.key)).toEqual(['fwd:old']);
    expect(restored.evictIdle(2_000, 1_000, 10, true)).toBe(1);
    expect(restored.drainUpdates()).toEqual([{ key: 'fwd:a', value: null }]);
    expect(restored.evictIdle(2_500, 1_000, 10, true)).toBe(1);
    expect(restored.survivorOf('old')).toBeUndefined();
    expect(restored.size).toBe(0);
  });
});
