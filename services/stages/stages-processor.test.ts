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
const processor = () =>
  createStagesProcessor({
    topics,
    codecs,
    options: { rules: loadShippedStageRules('ecommerce.yaml'), config: defaultStagesCoreConfig(), churn: loadShippedChurnModel() },
    tickLimit: 1_000,
    counters: { touchpoints: () => {}, transitions: () => {}, churnAlerts: () => {}, deadLetter: () => {} },
    now: () => T0,
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
