import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { JourneyRecord, SessionRecord } from '../../schemas/journey.js';
import { topicCodecs, topicsWithPrefix } from '../../schemas/topics.js';
import { sessionizerConfig } from './core/sessions.js';
import { stageByEventName, touchpoint } from './core/test-touchpoint.js';
import { createSessionsProcessor } from './sessions-processor.js';

const topics = topicsWithPrefix('t.');
const recordCodec = topicCodecs.identifiedTouchpoints();
const sessionCodec = topicCodecs.sessions();
const processor = () =>
  createSessionsProcessor({
    topics,
    recordCodec,
    sessionCodec,
    config: sessionizerConfig(stageByEventName),
    maxEventLagMs: 5 * 60_000,
    counters: { duplicates: () => {}, late: () => {}, sessionsClosed: () => {}, deadLetter: () => {} },
    now: () => 0,
  });
let offset = 0;
const message = (record: JourneyRecord): KafkaMessage =>
  ({ offset: String(offset++), key: null, value: recordCodec.encode(record), timestamp: '0', attributes: 0, headers: {} }) as KafkaMessage;
const touchRecord = (customerId: string, messageId: string, at: number): JourneyRecord => ({
  kind: 'touchpoint',
  customerId,
  touchpoint: { customerId, accountId: null, sessionId: '', late: false, touchpoint: touchpoint({ messageId, timestamp: at }) },
  mergeInto: null,
  mergedFrom: null,
  state: null,
});
const sessionsOf = (records: Array<{ topic: string; value: unknown }>): SessionRecord[] =>
  records.filter((r) => r.topic === topics.sessions).map((r) => sessionCodec.decode(r.value as Buffer));

describe('sessions processor: identity merges', () => {
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
