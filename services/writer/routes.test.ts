import { describe, expect, it } from 'vitest';
import { codecFor, SchemaDecodeError } from '../../schemas/codec.js';
import { makeTouchpoint } from '../../schemas/test-touchpoint.js';
import { topicCodecs, topicsWithPrefix } from '../../schemas/topics.js';
import { journeyRoutes } from './routes.js';

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
