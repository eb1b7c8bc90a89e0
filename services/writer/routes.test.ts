import { describe, expect, it } from 'vitest';
import { codecFor, SchemaDecodeError } from '../../schemas/codec.js';
import { makeTouchpoint } from '../../schemas/test-touchpoint.js';
import { topicCodecs, topicsWithPrefix } from '../../schemas/topics.js';
import { journeyRoutes, withBlockAges } from './routes.js';

describe('writer routes: customer-touchpoints', () => {
  const topics = topicsWithPrefix('t.');
  const route = journeyRoutes(topics, 'db').find((r) => r.topic === topics.customerTouchpoints)!;
  const codec = topicCodecs.customerTouchpoints();
  const none = { touchpoint: null, mergeInto: null, mergedFrom: null, state: null };

  it('a touchpoint record is a row, a control record is none', () => {
    const tp = makeTouchpoint({ messageId: 'm1' });
    const touchpoint = codec.encode({ ...none, kind: 'touchpoint', customerId: 'u:1', touchpoint: { customerId: 'u:1', accountId: null, sessionId: 's1', late: false, touchpoint: tp } });
    expect(route.toRow(route.decode(touchpoint))).toMatchObject({ message_id: 'm1', customer_id: 'u:1', session_id: 's1' });
    expect(route.toRow(route.decode(codec.encode({ ...none, kind: 'merge', customerId: 'a:1', mergeInto: 'u:1' })))).toBeNull();
  });

  it('refuses a touchpoint record without its touchpoint (the handler dead-letters what decode refuses), where it once wrote no row and said nothing', () => {
    const malformed = codecFor<unknown>('journey-record').encode({ ...none, kind: 'touchpoint', customerId: 'u:1' });
    expect(() => route.decode(malformed)).toThrow(SchemaDecodeError);
    expect(() => route.decode(malformed)).toThrow(/invalid 'touchpoint' record: touchpoint: /);
  });
});

describe('writer routes: block ages', () => {
  const topics = topicsWithPrefix('t.');
  const ageOf = (ages: { touchpointsMs: number; derivedMs: number }) =>
    Object.fromEntries(withBlockAges(journeyRoutes(topics, 'db'), topics.customerTouchpoints, ages).map((r) => [r.topic, r.maxAgeMs]));

  it('touchpoints keep the flush interval; every other table waits the derived interval', () => {
    const ages = ageOf({ touchpointsMs: 200, derivedMs: 2_000 });
    expect(ages[topics.customerTouchpoints]).toBe(200);
    expect(ages[topics.sessions]).toBe(2_000);
    expect(ages[topics.stageTransitions]).toBe(2_000);
    expect(ages[topics.funnelEvents]).toBe(2_000);
    expect(ages[topics.churnScores]).toBe(2_000);
  });

  it('a derived interval shorter than the touchpoints’ is raised to it (no table is flushed sooner than the touchpoints)', () => {
    expect(new Set(Object.values(ageOf({ touchpointsMs: 600_000, derivedMs: 2_000 })))).toEqual(new Set([600_000]));
  });
});

describe('writer routes: sessions', () => {
  const topics = topicsWithPrefix('t.');
  const route = journeyRoutes(topics, 'db').find((r) => r.topic === topics.sessions)!;

  it('are versioned by customer, session and uid: a version of the same session under another customer is kept (sessions_by_customer keeps it)', () => {
    const v = route.versioned!;
    const row = (customer_id: string, version: number) => ({ customer_id, session_id: 's1', session_uid: 'u', version });
    expect(v.key(row('u:1', 1))).toBe(v.key(row('u:1', 2)));
    expect(v.key(row('u:1', 1))).not.toBe(v.key(row('u:2', 1)));
    expect(v.version(row('u:1', 7))).toBe(7);
    expect(journeyRoutes(topics, 'db').filter((r) => r.versioned).map((r) => r.topic)).toEqual([topics.sessions]);
  });
});
