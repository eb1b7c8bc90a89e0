import type { KafkaMessage } from 'kafkajs';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENTS } from '../../schemas/event-names.js';
import type { JourneyRecord } from '../../schemas/journey.js';
import { topicCodecs, topicsWithPrefix } from '../../schemas/topics.js';
import type { StateUpdate } from '../platform/streams/stateful-handler.js';
import { DEFAULT_ATTRIBUTION_OPTIONS } from './attribution/attribution-partition.js';
import { sessionizerConfig } from './core/sessions.js';
import { stageByEventName } from './core/test-touchpoint.js';
import { decodeCustomerState } from './customer-state.js';
import { createJourneyProcessor } from './journey-processor.js';
import { defaultStagesCoreConfig } from './stages/stages-config.js';
import { DAY, HOUR, loadShippedChurnModel, loadShippedStageRules, MINUTE, T0, touch } from './stages/testing.js';

// A restarted journey step keeps its customers encoded until first access (stages/processor.ts,
// attribution/attribution-partition.ts): it must go on exactly as one that never restarted.

const topics = topicsWithPrefix('t.');
const recordCodec = topicCodecs.identifiedTouchpoints();
const noop = () => {};
const processor = () =>
  createJourneyProcessor({
    sourcePartitions: 1,
    mergeWait: { maxWaitMs: 60_000, maxHeld: 100, maxHeldBytes: 1 << 20 },
    topics,
    codecs: { record: recordCodec, session: topicCodecs.sessions(), transition: topicCodecs.stageTransitions(), funnel: topicCodecs.funnelEvents(), churn: topicCodecs.churnScores() },
    sessions: sessionizerConfig(stageByEventName),
    stages: { rules: loadShippedStageRules('ecommerce.yaml'), config: defaultStagesCoreConfig(), churn: loadShippedChurnModel() },
    attribution: DEFAULT_ATTRIBUTION_OPTIONS,
    tickLimit: 1_000,
    maxEventLagMs: 5 * 60_000,
    counters: { duplicates: noop, late: noop, sessionsClosed: noop, touchpoints: noop, transitions: noop, churnAlerts: noop, deadLetter: noop, mergeWaitsExpired: noop, mergeWaitsFull: noop, bounded: noop, oversizedOutput: noop, idleTick: noop },
    now: () => T0 + 365 * DAY,
  });
type Processor = ReturnType<typeof processor>;

let offset = 0;
const message = (record: JourneyRecord): KafkaMessage =>
  ({ offset: String(offset++), key: null, value: recordCodec.encode(record), timestamp: '0', attributes: 0, headers: {} }) as KafkaMessage;
const tp = (customerId: string, event: string, at: number, o: Parameters<typeof touch>[3] = {}) =>
  message({ kind: 'touchpoint', customerId, touchpoint: touch(customerId, event, at, o), mergeInto: null, mergedFrom: null, state: null });

/** The history of the fixture's values (tests/fixtures/changelog): keep the two in step. */
const HISTORY = (): KafkaMessage[] => [
  tp('u:1', EVENTS.adClicked, T0, { channel: 'ads', utmCampaign: 'spring' }),
  tp('u:1', EVENTS.productViewed, T0 + MINUTE, { channel: 'email' }),
  tp('u:1', EVENTS.productAdded, T0 + 2 * MINUTE, { channel: 'email' }),
  tp('u:1', EVENTS.orderCompleted, T0 + 3 * MINUTE, { channel: 'email', revenue: 42 }),
  tp('u:2', '', T0 + 10 * MINUTE, { type: 'page', path: '/pricing' }),
];

const customerUpdates = (p: Processor): StateUpdate[] => p.takeStateUpdates().filter((u) => u.key.startsWith('u:'));

/** What comes after the restart, the same for both: sessions closing, due work over days (cart abandoned, churn rescoring), a late touch, a merge, a forget. */
function after(p: Processor): unknown[] {
  offset = 1_000; // the same input offsets for both (outputs carry them)
  const out: unknown[] = [];
  const tick = () => out.push(p.tick(T0 + 365 * DAY, { caughtUp: false }));
  out.push(p.process(tp('u:3', EVENTS.adClicked, T0 + 2 * HOUR)));
  tick();
  out.push(customerUpdates(p));
  for (let day = 1; day <= 4; day++) {
    out.push(p.process(tp('u:3', EVENTS.productViewed, T0 + day * DAY + HOUR)));
    tick();
  }
  out.push(p.process(tp('u:1', EVENTS.productViewed, T0 + 4 * DAY + 2 * HOUR, { channel: 'social' })));
  out.push(p.process(tp('u:1', EVENTS.adClicked, T0 - HOUR, { channel: 'ads' }))); // late: re-attributes the order
  const merge = p.process(message({ kind: 'merge', customerId: 'u:2', touchpoint: null, mergeInto: 'u:1', mergedFrom: null, state: null }));
  out.push(merge);
  for (const r of merge) if (r.topic === topics.identifiedTouchpoints) out.push(p.process({ ...message({ kind: 'watermark', customerId: '', touchpoint: null, mergeInto: null, mergedFrom: null, state: null, source: 0, sourceWatermark: null }), value: r.value as Buffer }));
  out.push(p.process(message({ kind: 'forget', customerId: 'u:3', touchpoint: null, mergeInto: null, mergedFrom: null, state: null })));
  for (let day = 5; day <= 12; day++) {
    out.push(p.process(tp('u:4', EVENTS.adClicked, T0 + day * DAY)));
    tick();
  }
  out.push(customerUpdates(p));
  out.push(['u:1', 'u:2', 'u:3'].map((id) => [p.stages.get(id), p.attribution!.get(id)]));
  return out;
}

describe('journey step after a restart (customers kept encoded until first access)', () => {
  it('restores the values the step wrote before this change (fixture of 041a099) and goes on as if it had never restarted', () => {
    const fixture = JSON.parse(readFileSync(new URL('../../tests/fixtures/changelog/journey-values-041a099.json', import.meta.url), 'utf8')) as { values: Record<string, string> };
    const never = processor();
    for (const m of HISTORY()) never.process(m);
    customerUpdates(never);
    const restarted = processor();
    for (const [key, hex] of Object.entries(fixture.values)) restarted.restore(key, Buffer.from(hex, 'hex'));
    expect(restarted.stages.stats()).toMatchObject({ customers: 2, encoded: 2 });
    expect(after(restarted)).toEqual(after(never));
  });

  it('goes on as if it had never restarted from the values it writes now', () => {
    const never = processor();
    for (const m of HISTORY()) never.process(m);
    const restarted = processor();
    for (const u of customerUpdates(never)) restarted.restore(u.key, u.value!);
    expect(after(restarted)).toEqual(after(never));
  });

  it('a customer untouched since the restore keeps its journey encoded and its value is written back with the same journey and attribution bytes', () => {
    const never = processor();
    for (const m of HISTORY()) never.process(m);
    const values = new Map(customerUpdates(never).map((u) => [u.key, u.value!]));
    const restarted = processor();
    for (const [key, value] of values) restarted.restore(key, value);
    // The watermark passes their sessions' close (two hours on): only the sessions part changes.
    const next = tp('u:3', EVENTS.adClicked, T0 + 2 * HOUR);
    expect(restarted.process(next)).toEqual(never.process(next)); // the same message: the same offset
    expect(restarted.tick(T0 + 365 * DAY, { caughtUp: false })).toEqual(never.tick(T0 + 365 * DAY, { caughtUp: false }));
    const written = customerUpdates(restarted);
    expect(written).toEqual(customerUpdates(never));
    expect(restarted.stages.stats()).toMatchObject({ customers: 3, encoded: 2 });
    for (const key of ['u:1', 'u:2']) {
      const before = decodeCustomerState(values.get(key)!);
      const now = decodeCustomerState(written.find((u) => u.key === key)!.value!);
      expect(now.sessions).not.toEqual(before.sessions); // its sessions closed
      expect(now.journey).toEqual(before.journey);
      expect(now.attribution ?? null).toEqual(before.attribution ?? null);
    }
  });
});
