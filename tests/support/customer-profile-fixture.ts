import { SESSION_UID_UNKNOWN, type ChurnScore, type CustomerTouchpoint, type SessionRecord, type Stage, type StageTransition } from '../../schemas/journey.js';
import type { ClickHouse } from '../../services/platform/clickhouse/client.js';
import { insertTopic } from './query-api-sample-data.js';

/**
 * One stitched customer, as the sessionizer leaves it in ClickHouse, around `t0`:
 *
 *   a:anon-7   browses (3 touchpoints, session s-a7 closed under a:anon-7, its stage awareness and
 *              an old churn score stay under it);
 *   t0+10m     identify(anon-7 → alice): from here on rows are under u:alice;
 *   a:anon-9   a second device: one touchpoint under a:anon-9, then identify(anon-9 → alice);
 *   u:alice    joins account acme, converts to consideration and purchase; sessions s-al1 (moved
 *              from a:anon-7 in version 2), s-al2 (open), s-gone (merged into s-al1: not listed);
 *              churn score 0.7 with reasons.
 *
 * Two touchpoints share one timestamp (the timeline breaks the tie by messageId) and one is
 * replayed in a later block. u:bob is an unrelated customer that must never show up.
 */
export const MIN = 60_000;

export interface StitchedCustomer {
  touchpoints: CustomerTouchpoint[];
  replayed: CustomerTouchpoint[];
  sessions: SessionRecord[];
  transitions: StageTransition[];
  churnScores: ChurnScore[];
}

function tp(
  messageId: string,
  customerId: string,
  at: number,
  ids: { anonymousId?: string; userId?: string },
  event: string,
  extra: { type?: 'track' | 'identify' | 'group'; accountId?: string; sessionId?: string } = {},
): CustomerTouchpoint {
  return {
    customerId,
    accountId: extra.accountId ?? null,
    sessionId: extra.sessionId ?? `s-${customerId}`,
    late: false,
    touchpoint: {
      messageId,
      type: extra.type ?? 'track',
      event: extra.type === 'identify' ? '' : event,
      anonymousId: ids.anonymousId ?? null,
      userId: ids.userId ?? null,
      previousId: null,
      groupId: extra.accountId ?? null,
      emailHash: null,
      source: 'web-sdk',
      site: 'shop',
      channel: 'web',
      timestamp: at,
      originalTimestamp: at,
      sentAt: at,
      receivedAt: at + 100,
      url: `https://shop.example/${event.toLowerCase().replace(/\s+/g, '-')}`,
      path: `/${event.toLowerCase().replace(/\s+/g, '-')}`,
      referrer: null,
      utmSource: null,
      utmMedium: null,
      utmCampaign: null,
      deviceType: 'desktop',
      deviceId: null,
      segment: null,
      revenue: event === 'Order Completed' ? 99 : null,
      properties: '{}',
    },
  };
}

function session(sessionId: string, version: number, customerId: string, status: SessionRecord['status'], start: number, end: number): SessionRecord {
  return {
    sessionId,
    sessionUid: SESSION_UID_UNKNOWN,
    customerId,
    status,
    version,
    site: 'shop',
    startedAt: start,
    endedAt: end,
    eventCount: version + 2,
    channels: ['web'],
    entryEvent: 'Page Viewed',
    exitEvent: 'Product Viewed',
    entryUrl: 'https://shop.example/',
    exitUrl: null,
    furthestStage: 'awareness',
    converted: false,
  };
}

function transition(customerId: string, fromStage: Stage | null, toStage: Stage, at: number, accountId: string | null = null): StageTransition {
  return {
    transitionId: `${customerId}:${toStage}:${at}`,
    customerId,
    accountId,
    fromStage,
    toStage,
    at,
    cause: fromStage === null ? 'first touch' : `rule:${toStage}`,
    messageId: `m-${customerId}-${at}`,
    site: 'shop',
    channel: 'web',
    campaign: null,
    deviceType: 'desktop',
    segment: null,
    referrerCustomerId: null,
    journeyNumber: 1,
  };
}

function churn(customerId: string, at: number, score: number, reasons: string[], nextAction: string, stage: Stage): ChurnScore {
  return { customerId, at, score, pAlive: Math.round((1 - score) * 100) / 100, reasons, nextAction, stage, crossedThreshold: score >= 0.5 };
}

export function stitchedCustomer(t0: number): StitchedCustomer {
  const anon7 = { anonymousId: 'anon-7' };
  const alice7 = { anonymousId: 'anon-7', userId: 'alice' };
  const touchpoints = [
    tp('m01', 'a:anon-7', t0, anon7, 'Page Viewed', { sessionId: 's-a7' }),
    tp('m02', 'a:anon-7', t0 + MIN, anon7, 'Product Viewed', { sessionId: 's-a7' }),
    tp('m03', 'a:anon-7', t0 + 2 * MIN, anon7, 'Product Viewed', { sessionId: 's-a7' }),
    tp('m04', 'u:alice', t0 + 10 * MIN, alice7, 'identify', { type: 'identify', sessionId: 's-al1' }),
    tp('m05', 'a:anon-9', t0 + 11 * MIN, { anonymousId: 'anon-9' }, 'Page Viewed', { sessionId: 's-a9' }),
    tp('m06', 'u:alice', t0 + 12 * MIN, { anonymousId: 'anon-9', userId: 'alice' }, 'identify', { type: 'identify', sessionId: 's-al1' }),
    tp('m07', 'u:alice', t0 + 13 * MIN, alice7, 'group', { type: 'group', accountId: 'acme', sessionId: 's-al1' }),
    // Same millisecond: the timeline orders these two by messageId (m08a before m08b).
    tp('m08b', 'u:alice', t0 + 14 * MIN, alice7, 'Cart Viewed', { accountId: 'acme', sessionId: 's-al1' }),
    tp('m08a', 'u:alice', t0 + 14 * MIN, alice7, 'Product Added', { accountId: 'acme', sessionId: 's-al1' }),
    tp('m09', 'u:alice', t0 + 20 * MIN, { userId: 'alice' }, 'Order Completed', { accountId: 'acme', sessionId: 's-al1' }),
    tp('m10', 'u:alice', t0 + 90 * MIN, { userId: 'alice' }, 'Page Viewed', { accountId: 'acme', sessionId: 's-al2' }),
    tp('b01', 'u:bob', t0 + 5 * MIN, { userId: 'bob', anonymousId: 'anon-b' }, 'Page Viewed', { sessionId: 's-bob' }),
  ];
  return {
    touchpoints,
    replayed: [touchpoints[8]!, touchpoints[1]!],
    sessions: [
      session('s-a7', 1, 'a:anon-7', 'opened', t0, t0 + MIN),
      session('s-a7', 2, 'a:anon-7', 'closed', t0, t0 + 2 * MIN),
      session('s-al1', 1, 'a:anon-7', 'opened', t0 + 10 * MIN, t0 + 10 * MIN),
      session('s-al1', 2, 'u:alice', 'updated', t0 + 10 * MIN, t0 + 20 * MIN),
      session('s-gone', 1, 'u:alice', 'opened', t0 + 12 * MIN, t0 + 12 * MIN),
      session('s-gone', 2, 'u:alice', 'merged', t0 + 12 * MIN, t0 + 12 * MIN),
      session('s-al2', 1, 'u:alice', 'opened', t0 + 90 * MIN, t0 + 90 * MIN),
      session('s-bob', 1, 'u:bob', 'opened', t0 + 5 * MIN, t0 + 5 * MIN),
    ],
    transitions: [
      transition('a:anon-7', null, 'awareness', t0),
      transition('u:alice', 'awareness', 'consideration', t0 + 14 * MIN, 'acme'),
      transition('u:alice', 'consideration', 'purchase', t0 + 20 * MIN, 'acme'),
      transition('u:bob', null, 'awareness', t0 + 5 * MIN),
    ],
    churnScores: [
      churn('a:anon-7', t0 + 3 * MIN, 0.4, ['short first visit'], 'none', 'awareness'),
      churn('u:alice', t0 + 100 * MIN, 0.6, [], 'none', 'purchase'),
      churn('u:alice', t0 + 200 * MIN, 0.7, ['no visit in 14 days', 'cart abandoned'], 'send win-back email', 'purchase'),
      churn('u:bob', t0 + 200 * MIN, 0.9, ['bounced'], 'none', 'awareness'),
    ],
  };
}

/** Inserts through the writer's mappers, one block per session version and churn score (as in production), then the replays. */
export async function insertStitchedCustomer(ch: ClickHouse, c: StitchedCustomer): Promise<void> {
  await insertTopic(ch, 'customerTouchpoints', c.touchpoints);
  for (const s of c.sessions) await insertTopic(ch, 'sessions', [s]);
  await insertTopic(ch, 'stageTransitions', c.transitions);
  for (const s of c.churnScores) await insertTopic(ch, 'churnScores', [s]);
  await insertTopic(ch, 'customerTouchpoints', c.replayed);
  await insertTopic(ch, 'stageTransitions', c.transitions.slice(0, 2));
}
