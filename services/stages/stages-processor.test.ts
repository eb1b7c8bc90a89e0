import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { EVENTS } from '../../schemas/event-names.js';
import type { JourneyRecord } from '../../schemas/journey.js';
import { topicCodecs, topicsWithPrefix } from '../../schemas/topics.js';
import { defaultStagesCoreConfig } from './core/stages-config.js';
import { createStagesProcessor } from './stages-processor.js';
import { loadShippedChurnModel, loadShippedStageRules, T0, touch } from './testing.js';

const topics = topicsWithPrefix('t.');
const codecs = {
  record: topicCodecs.customerTouchpoints(),
  transition: topicCodecs.stageTransitions(),
  funnel: topicCodecs.funnelEvents(),
  churn: topicCodecs.churnScores(),
};
let clock = T0;
const processor = () =>
  createStagesProcessor({
    topics,
    codecs,
    options: { rules: loadShippedStageRules('ecommerce.yaml'), config: defaultStagesCoreConfig(), churn: loadShippedChurnModel() },
    tickLimit: 1_000,
    mergeWait: { maxWaitMs: 60_000, maxHeld: 100 },
    counters: { touchpoints: () => {}, repeats: () => {}, transitions: () => {}, churnAlerts: () => {}, deadLetter: () => {}, mergeWaitsExpired: () => {} },
    now: () => clock,
  });
let offset = 0;
const message = (record: JourneyRecord): KafkaMessage =>
  ({ offset: String(offset++), key: null, value: codecs.record.encode(record), timestamp: '0', attributes: 0, headers: {} }) as KafkaMessage;
const touchRecord = (customerId: string, event: string, at: number): JourneyRecord => ({ kind: 'touchpoint', customerId, touchpoint: touch(customerId, event, at), mergeInto: null, mergedFrom: null, state: null });

describe('stages processor: identity merges', () => {
  it('merges a transfer once: a replayed transfer (at-least-once output of the absorbed owner) changes nothing', () => {
    const owner = processor();
    owner.process(message(touchRecord('anon', EVENTS.orderCompleted, T0)));
    const [transferOut] = owner.process(message({ kind: 'merge', customerId: 'anon', touchpoint: null, mergeInto: 'user', mergedFrom: null, state: null }));
    const transfer = codecs.record.decode(transferOut!.value as Buffer);
    expect(transfer).toMatchObject({ kind: 'transfer', customerId: 'user', mergedFrom: 'anon' });

    const survivor = processor();
    survivor.process(message(touchRecord('user', EVENTS.orderCompleted, T0 + 10 * 86_400_000)));
    survivor.process(message(transfer));
    const once = structuredClone(survivor.partition.get('user'));
    expect(once?.purchases.repeatCount).toBe(1);
    expect(survivor.process(message(transfer))).toEqual([]);
    expect(survivor.partition.get('user')).toEqual(once);

    // The ledger survives a restore from the changelog.
    const restored = processor();
    for (const u of survivor.takeStateUpdates()) restored.restore(u.key, u.value!);
    expect(restored.process(message(transfer))).toEqual([]);
    expect(restored.partition.get('user')).toEqual(once);
  });
});

describe('stages processor: a survivor waits for the absorbed journey', () => {
  const MIN = 60_000;
  const absorbing: JourneyRecord = { kind: 'absorbing', customerId: 'user', touchpoint: null, mergeInto: null, mergedFrom: 'anon', state: null };
  /** The absorbed owner: an ad click (awareness) by `anon`, then the merge notice; returns its transfer. */
  const transferFrom = (touched = true): JourneyRecord => {
    const owner = processor();
    if (touched) owner.process(message(touchRecord('anon', EVENTS.adClicked, T0)));
    const out = owner.process(message({ kind: 'merge', customerId: 'anon', touchpoint: null, mergeInto: 'user', mergedFrom: null, state: null }));
    return codecs.record.decode(out.find((r) => r.topic === topics.customerTouchpoints)!.value as Buffer);
  };
  const later = [touchRecord('user', EVENTS.productViewed, T0 + 5 * MIN), touchRecord('user', EVENTS.orderCompleted, T0 + 9 * MIN)];
  const funnelOf = (records: Array<{ topic: string; value: unknown }>) =>
    records
      .filter((r) => r.topic === topics.funnelEvents)
      .map((r) => codecs.funnel.decode(r.value as Buffer))
      .map((f) => `${f.kind} ${f.fromStage ?? '-'}>${f.stage} ${f.customerId} ${f.eventId}`)
      .sort();
  const run = (order: JourneyRecord[]) => {
    const p = processor();
    return funnelOf(order.flatMap((r) => p.process(message(r))));
  };

  it('the funnel is the same whether the absorbed state arrives before or after the survivor’s next touchpoints', () => {
    const transfer = transferFrom();
    const stateFirst = run([absorbing, transfer, ...later]);
    const stateLast = run([absorbing, ...later, transfer]);
    expect(stateLast).toEqual(stateFirst);
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
    const p = processor();
    p.process(message(absorbing));
    p.process(message(later[0]!));
    expect(funnelOf(p.tick(T0 + 59_000, { caughtUp: true }))).toEqual([]);
    expect(funnelOf(p.tick(T0 + 61_000, { caughtUp: true }))).toEqual([expect.stringMatching(/^entry ->consideration user /)]);

    const q = processor();
    q.process(message(absorbing));
    q.process(message(later[0]!));
    const restored = processor();
    for (const u of q.takeStateUpdates()) if (u.value) restored.restore(u.key, u.value);
    // Restarted ten minutes later: the restart delayed the transfer too, so the clock starts again.
    expect(funnelOf(restored.tick(T0 + 600_000, { caughtUp: true }))).toEqual([]);
    expect(funnelOf(restored.tick(T0 + 659_000, { caughtUp: true }))).toEqual([]);
    expect(funnelOf(restored.tick(T0 + 661_000, { caughtUp: true }))).toEqual([expect.stringMatching(/^entry ->consideration user /)]);
  });

  it('a wait’s clock stands still while the partition has a backlog (the transfer is queued behind it)', () => {
    const p = processor();
    p.process(message(absorbing));
    p.process(message(later[0]!));
    // Ten minutes behind: the 60-second limit does not apply yet.
    expect(funnelOf(p.tick(T0 + 600_000, { caughtUp: false }))).toEqual([]);
    expect(funnelOf(p.tick(T0 + 630_000, { caughtUp: true }))).toEqual([]);
    expect(funnelOf(p.tick(T0 + 661_000, { caughtUp: true }))).toEqual([expect.stringMatching(/^entry ->consideration user /)]);
    // However long the backlog, a wait ends after 12 × the limit.
    const q = processor();
    q.process(message(absorbing));
    q.process(message(later[0]!));
    expect(funnelOf(q.tick(T0 + 719_000, { caughtUp: false }))).toEqual([]);
    expect(funnelOf(q.tick(T0 + 720_000, { caughtUp: false }))).toEqual([expect.stringMatching(/^entry ->consideration user /)]);
  });
});

describe('stages processor: repeated sessionizer output', () => {
  const MIN = 60_000;
  const at = (customerId: string, event: string, t: number, inputOffset: number): JourneyRecord => ({ ...touchRecord(customerId, event, t), inputOffset });
  const stagesOf = (records: Array<{ topic: string; value: unknown }>) =>
    records.filter((r) => r.topic === topics.funnelEvents).map((r) => codecs.funnel.decode(r.value as Buffer)).map((f) => `${f.kind} ${f.stage}`);

  it('a touchpoint the sessionizer sends again after a crash is not applied twice: one order is one purchase', () => {
    const p = processor();
    const order = at('user', EVENTS.orderCompleted, T0 + MIN, 7);
    const first = stagesOf(p.process(message(order)));
    expect(first).toEqual(['entry purchase']);
    expect(p.process(message(order))).toEqual([]);
    expect(p.partition.get('user')?.purchases.repeatCount).toBe(0);
    // The next touchpoint (a higher offset) is applied.
    expect(stagesOf(p.process(message(at('user', EVENTS.orderCompleted, T0 + 2 * MIN, 8))))).toEqual(['conversion retention', 'entry retention']);
  });

  it('a merge survivor keeps its own offsets: the absorbed id’s (another partition’s) do not hide its touchpoints', () => {
    const owner = processor();
    owner.process(message(at('anon', EVENTS.adClicked, T0, 900)));
    const [transferOut] = owner.process(message({ kind: 'merge', customerId: 'anon', touchpoint: null, mergeInto: 'user', mergedFrom: null, state: null }));
    const survivor = processor();
    survivor.process(message(codecs.record.decode(transferOut!.value as Buffer)));
    expect(stagesOf(survivor.process(message(at('user', EVENTS.productViewed, T0 + MIN, 5))))).toContain('entry consideration');
  });

  it('a repeat that arrives under an id already merged away does not start a new journey for it', () => {
    const p = processor();
    const view = at('anon', EVENTS.productViewed, T0, 3);
    p.process(message(view));
    p.process(message({ kind: 'merge', customerId: 'anon', touchpoint: null, mergeInto: 'user', mergedFrom: null, state: null }));
    // The sessionizer died before its changelog held the merge: it sends the view (and the notice) again.
    expect(p.process(message(view))).toEqual([]);
    expect(p.partition.get('anon')).toBeUndefined();
  });
});
