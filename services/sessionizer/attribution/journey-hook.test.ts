import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { EVENTS } from '../../../schemas/event-names.js';
import type { AttributionCredit, JourneyRecord } from '../../../schemas/journey.js';
import { topicCodecs, topicsWithPrefix } from '../../../schemas/topics.js';
import { bundledTopics } from '../../platform/kafka/pipeline-topics.js';
import { sessionizerConfig } from '../core/sessions.js';
import { stageByEventName } from '../core/test-touchpoint.js';
import { decodeCustomerState } from '../customer-state.js';
import { createJourneyProcessor } from '../journey-processor.js';
import { defaultStagesCoreConfig } from '../stages/stages-config.js';
import { DAY, loadShippedChurnModel, loadShippedStageRules, T0, touch } from '../stages/testing.js';
import { DEFAULT_ATTRIBUTION_OPTIONS, type AttributionOptions } from './attribution-partition.js';

const topics = topicsWithPrefix('t.');
const recordCodec = topicCodecs.identifiedTouchpoints();
const creditCodec = topicCodecs.attribution();
const LATER = T0 + 365 * DAY;
const noop = () => {};
const processor = (withAttribution: boolean | AttributionOptions = true) =>
  createJourneyProcessor({
    sourcePartitions: 1,
    mergeWait: { maxWaitMs: 60_000, maxHeld: 100, maxHeldBytes: 1 << 20 },
    topics,
    codecs: { record: recordCodec, session: topicCodecs.sessions(), transition: topicCodecs.stageTransitions(), funnel: topicCodecs.funnelEvents(), churn: topicCodecs.churnScores(), attribution: creditCodec },
    sessions: sessionizerConfig(stageByEventName),
    stages: { rules: loadShippedStageRules('ecommerce.yaml'), config: defaultStagesCoreConfig(), churn: loadShippedChurnModel() },
    attribution: withAttribution === true ? DEFAULT_ATTRIBUTION_OPTIONS : withAttribution === false ? null : withAttribution,
    tickLimit: 1_000,
    maxEventLagMs: 5 * 60_000,
    counters: { duplicates: noop, late: noop, sessionsClosed: noop, touchpoints: noop, transitions: noop, churnAlerts: noop, deadLetter: noop, mergeWaitsExpired: noop, mergeWaitsFull: noop, bounded: noop, oversizedOutput: noop, idleTick: noop },
    now: () => LATER,
  });
let offset = 0;
const message = (record: JourneyRecord): KafkaMessage =>
  ({ offset: String(offset++), key: null, value: recordCodec.encode(record), timestamp: '0', attributes: 0, headers: {} }) as KafkaMessage;
const record = (customerId: string, event: string, at: number, channel: string, extra: { revenue?: number; campaign?: string } = {}): JourneyRecord => ({
  kind: 'touchpoint',
  customerId,
  touchpoint: touch(customerId, event, at, { channel: channel as never, revenue: extra.revenue ?? null, utmCampaign: extra.campaign ?? null }),
  mergeInto: null,
  mergedFrom: null,
  state: null,
});
const merge = (from: string, into: string): JourneyRecord => ({ kind: 'merge', customerId: from, touchpoint: null, mergeInto: into, mergedFrom: null, state: null });
const credits = (out: Array<{ topic: string; key: unknown; value: unknown }>): AttributionCredit[] =>
  out.filter((r) => r.topic === topics.attribution).map((r) => {
    const c = creditCodec.decode(r.value as Buffer);
    expect(r.key).toBe(c.customerId);
    return c;
  });
const linear = (rows: AttributionCredit[]) => rows.filter((r) => r.model === 'linear').map((r) => `${r.conversionId} ${r.channel} ${Number(r.credit.toFixed(6))} v${r.version}`);

describe('journey processor with attribution', () => {
  it('a conversion emits the rows of every model on the attribution topic (bundled like the other outputs to the writer)', () => {
    const p = processor();
    expect(credits(p.process(message(record('u', EVENTS.adClicked, T0, 'ads', { campaign: 'spring' }))))).toEqual([]);
    expect(credits(p.process(message(record('u', EVENTS.productViewed, T0 + 1000, 'web'))))).toEqual([]);
    p.process(message(record('u', EVENTS.emailLinkClicked, T0 + DAY, 'email')));
    const rows = credits(p.process(message(record('u', EVENTS.orderCompleted, T0 + 2 * DAY, 'other', { revenue: 90 }))));
    expect(new Set(rows.map((r) => r.model))).toEqual(new Set(['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay']));
    expect(rows).toHaveLength(10);
    expect(linear(rows).sort()).toEqual([`u:track:${EVENTS.orderCompleted}::${T0 + 2 * DAY} ads 0.5 v2`, `u:track:${EVENTS.orderCompleted}::${T0 + 2 * DAY} email 0.5 v2`]);
    expect(rows.find((r) => r.model === 'first_touch' && r.credit === 1)).toMatchObject({ channel: 'ads', campaign: 'spring', revenueShare: 90, site: 'shop', customerId: 'u' });
    expect(bundledTopics(topics).has(topics.attribution)).toBe(true);
  });

  it('with conversion stages, the touchpoint that entered the stage is the conversion: a first order (purchase), not a repeat one (retention) nor the touchpoint after a lapse', () => {
    const p = processor({ ...DEFAULT_ATTRIBUTION_OPTIONS, conversionEvents: [], conversionStages: ['purchase', 'consideration'] });
    p.process(message(record('u', EVENTS.adClicked, T0, 'ads')));
    const first = `u:track:${EVENTS.orderCompleted}::${T0 + DAY}`;
    expect(linear(credits(p.process(message(record('u', EVENTS.orderCompleted, T0 + DAY, 'other', { revenue: 10 })))))).toEqual([`${first} ads 1 v1`]);
    expect(credits(p.process(message(record('u', EVENTS.orderCompleted, T0 + 2 * DAY, 'other'))))).toEqual([]); // retention: a touch neither
    // 100 days without a purchase: the next touchpoint first settles the lapse back to consideration,
    // a transition of event time and not of this touchpoint, so it is a touch, not a conversion.
    const lapsedAt = T0 + 102 * DAY;
    const out = p.process(message(record('u', EVENTS.adClicked, lapsedAt, 'ads')));
    expect(out.some((r) => r.topic === topics.stageTransitions)).toBe(true);
    expect(credits(out)).toEqual([]);
    expect(p.attribution!.get('u')!.touches.map((t) => t.at)).toContain(lapsedAt);
    // By event name: not a conversion unless its event is listed.
    const byName = processor();
    byName.process(message(record('v', EVENTS.adClicked, T0, 'ads')));
    expect(credits(byName.process(message(record('v', EVENTS.orderCompleted, T0 + 2 * DAY, 'other'))))).toHaveLength(5);
  });

  it('is off without options: no rows and no attribution part in the state', () => {
    const p = processor(false);
    p.process(message(record('u', EVENTS.adClicked, T0, 'ads')));
    expect(credits(p.process(message(record('u', EVENTS.orderCompleted, T0 + DAY, 'other'))))).toEqual([]);
    const value = p.takeStateUpdates().find((u) => u.key === 'u')!.value!;
    expect(decodeCustomerState(value).attribution).toBeNull();
  });

  it('an identity merge carries the touches in the transfer: the survivor’s earlier conversion is attributed again with them', () => {
    const owner = processor();
    owner.process(message(record('anon', EVENTS.adClicked, T0, 'ads')));
    const out = owner.process(message(merge('anon', 'user')));
    const transfer = recordCodec.decode(out.find((r) => r.topic === topics.identifiedTouchpoints)!.value as Buffer);
    expect(decodeCustomerState(transfer.state!).attribution).not.toBeNull();

    const survivor = processor();
    survivor.process(message(record('user', EVENTS.emailLinkClicked, T0 + DAY, 'email')));
    const order = `user:track:${EVENTS.orderCompleted}::${T0 + 2 * DAY}`;
    expect(linear(credits(survivor.process(message(record('user', EVENTS.orderCompleted, T0 + 2 * DAY, 'other')))))).toEqual([`${order} email 1 v1`]);
    expect(linear(credits(survivor.process(message(transfer))))).toEqual([`${order} ads 0.5 v2`, `${order} email 0.5 v2`]);
    // Once: a replayed transfer re-attributes nothing.
    expect(credits(survivor.process(message(transfer)))).toEqual([]);
  });

  it('a late touchpoint inside the window re-attributes (event time only)', () => {
    const p = processor();
    p.process(message(record('u', EVENTS.emailLinkClicked, T0 + DAY, 'email')));
    p.process(message(record('u', EVENTS.orderCompleted, T0 + 2 * DAY, 'other')));
    const late = { ...record('u', EVENTS.adClicked, T0, 'ads'), source: 0, sourceWatermark: T0 + 3 * DAY };
    const rows = credits(p.process(message(late)));
    expect(rows.filter((r) => r.model === 'first_touch').map((r) => [r.channel, r.credit, r.version])).toEqual([['ads', 1, 2], ['email', 0, 2]]);
  });

  it('restores a changelog value written before attribution (format 1): its touches from then on count', () => {
    const old = processor(false);
    old.process(message(record('u', EVENTS.adClicked, T0, 'ads')));
    const value = old.takeStateUpdates().find((u) => u.key === 'u')!.value!;
    expect(value[0]).toBe(0x01);

    const p = processor();
    p.restore('u', value);
    expect(p.stages.get('u')).toEqual(old.stages.get('u'));
    p.process(message(record('u', EVENTS.emailLinkClicked, T0 + DAY, 'email')));
    expect(linear(credits(p.process(message(record('u', EVENTS.orderCompleted, T0 + 2 * DAY, 'other')))))).toHaveLength(1);
    const next = p.takeStateUpdates().find((u) => u.key === 'u')!.value!;
    expect(next[0]).toBe(0x02);
    const again = processor();
    again.restore('u', next);
    expect(again.attribution!.get('u')).toEqual(p.attribution!.get('u'));
    expect(again.stages.get('u')).toEqual(p.stages.get('u'));
  });

  it('a forget record drops the attribution touches too: the customer’s changelog value becomes a tombstone', () => {
    const p = processor();
    p.process(message(record('u:alice', EVENTS.emailLinkClicked, T0, 'email')));
    p.process(message(record('u:alice', EVENTS.orderCompleted, T0 + 60_000, 'search', { revenue: 10 })));
    p.takeStateUpdates();
    expect(p.attribution!.get('u:alice')).toBeDefined();
    p.process(message({ kind: 'forget', customerId: 'u:alice', touchpoint: null, mergeInto: null, mergedFrom: null, state: null }));
    expect(p.takeStateUpdates()).toEqual([{ key: 'u:alice', value: null }]);
    expect(p.attribution!.get('u:alice')).toBeUndefined();
  });
});
