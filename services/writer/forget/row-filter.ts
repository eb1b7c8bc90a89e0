import type { AttributionCredit, ChurnScore, DeadLetter, FunnelEvent, JourneyRecord, SessionRecord, StageTransition } from '../../../schemas/journey.js';
import type { Topics } from '../../../schemas/topics.js';
import { touchpointIds } from '../../platform/privacy/deletion-request.js';
import type { ForgottenIds } from '../../platform/privacy/forgotten-ids.js';
import type { TopicRoute } from '../writer-handler.js';

/** The ids a record names and the time it counts from, per topic (null: names no customer). */
type Subject = (value: unknown) => { ids: Array<string | null>; at: number } | null;

function subjects(topics: Topics): Map<string, Subject> {
  return new Map<string, Subject>([
    [
      topics.customerTouchpoints,
      (v) => {
        const r = v as JourneyRecord;
        const tp = r.touchpoint?.touchpoint;
        return tp ? { ids: [r.customerId, ...touchpointIds(tp)], at: tp.receivedAt } : null;
      },
    ],
    [topics.sessions, (v) => ({ ids: [(v as SessionRecord).customerId], at: (v as SessionRecord).endedAt })],
    [topics.stageTransitions, (v) => ({ ids: [(v as StageTransition).customerId], at: (v as StageTransition).at })],
    [topics.funnelEvents, (v) => ({ ids: [(v as FunnelEvent).customerId], at: (v as FunnelEvent).at })],
    [topics.churnScores, (v) => ({ ids: [(v as ChurnScore).customerId], at: (v as ChurnScore).at })],
    [topics.attribution, (v) => ({ ids: [(v as AttributionCredit).customerId], at: (v as AttributionCredit).convertedAt })],
    [
      topics.deadLetter,
      (v) => {
        const key = (v as DeadLetter).key;
        // Keyed as the source topic is: a raw device id on touchpoints, a customer id after.
        return key === null ? null : { ids: [key, `u:${key}`, `a:${key}`], at: (v as DeadLetter).at };
      },
    ],
  ]);
}

/**
 * The writer's last guard of a deletion: a row about a forgotten id, from before its deletion (or
 * any time, when suppressed), is not written, whatever brought it back (a record in flight when the
 * deletion ran, a replay of a topic). Costs nothing while no id is forgotten. `onDropped` counts.
 */
export function withForgottenFilter(routes: TopicRoute[], topics: Topics, forgotten: ForgottenIds, onDropped: (topic: string) => void): TopicRoute[] {
  const byTopic = subjects(topics);
  return routes.map((route) => {
    const subject = byTopic.get(route.topic);
    if (subject === undefined) return route;
    return {
      ...route,
      toRow(value: unknown) {
        if (forgotten.size > 0) {
          const s = subject(value);
          if (s !== null && forgotten.drops(s.ids, s.at)) {
            onDropped(route.topic);
            return null;
          }
        }
        return route.toRow(value);
      },
    };
  });
}
