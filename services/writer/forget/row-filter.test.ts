import { describe, expect, it } from 'vitest';
import { topicsWithPrefix } from '../../../schemas/topics.js';
import { ForgottenIds, forgottenIdHash } from '../../platform/privacy/forgotten-ids.js';
import type { TopicRoute } from '../writer-handler.js';
import { withForgottenFilter } from './row-filter.js';

const topics = topicsWithPrefix('t.');
const AT = 1_000_000;

/** Each customer-keyed topic with a value naming `customerId` at `at`, as the filter reads it. */
const valueOf: Record<string, (customerId: string, at: number) => unknown> = {
  [topics.customerTouchpoints]: (customerId, at) => ({
    kind: 'touchpoint',
    customerId,
    touchpoint: { touchpoint: { userId: customerId.slice(2), anonymousId: null, emailHash: null, previousId: null, receivedAt: at } },
  }),
  [topics.sessions]: (customerId, at) => ({ customerId, endedAt: at }),
  [topics.stageTransitions]: (customerId, at) => ({ customerId, at }),
  [topics.funnelEvents]: (customerId, at) => ({ customerId, at }),
  [topics.churnScores]: (customerId, at) => ({ customerId, at }),
  [topics.attribution]: (customerId, at) => ({ customerId, convertedAt: at }),
  [topics.deadLetter]: (customerId, at) => ({ key: customerId.slice(2), at }),
};

describe("the writer's forgotten-id row filter", () => {
  it('drops the rows of a forgotten customer from before the deletion on every topic that names a customer, and keeps the others', () => {
    const forgotten = new ForgottenIds();
    forgotten.add(forgottenIdHash('u:alice'), { deletionId: 'd1', at: AT, suppress: false });
    const written: string[] = [];
    const routes: TopicRoute[] = Object.keys(valueOf).map((topic) => ({ topic, table: topic, decode: (b) => b, toRow: () => (written.push(topic), { topic }) }));
    const dropped: string[] = [];
    const filtered = withForgottenFilter(routes, topics, forgotten, (topic) => dropped.push(topic));
    for (const route of filtered) {
      expect(route.toRow(valueOf[route.topic]!('u:alice', AT - 1)), route.topic).toBeNull();
      expect(route.toRow(valueOf[route.topic]!('u:bob', AT - 1)), route.topic).toEqual({ topic: route.topic });
      // After the deletion and not suppressed: a new customer's rows.
      expect(route.toRow(valueOf[route.topic]!('u:alice', AT + 1)), route.topic).toEqual({ topic: route.topic });
    }
    expect(dropped.sort()).toEqual(Object.keys(valueOf).sort());
    expect(written).toHaveLength(2 * Object.keys(valueOf).length);
  });
});
