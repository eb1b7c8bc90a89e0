import type { ClickHouse } from '../../services/platform/clickhouse/client.js';
import { TABLE_FOR_TOPIC, type TopicValues, type WrittenTopicKey } from '../../services/platform/clickhouse/rows.js';
import { refreshSnapshots } from '../../services/platform/clickhouse/snapshots.js';
import {
  SESSION_UID_UNKNOWN,
  type AlertEvent,
  type ChurnScore,
  type CustomerTouchpoint,
  type FunnelEvent,
  type SessionRecord,
  type Stage,
  type StageTransition,
} from '../../schemas/journey.js';

/**
 * A small, hand-countable data set around `now` (use a Wednesday noon UTC, e.g. 2026-03-04T12:00Z),
 * for tests and demos of the query API. Site `shop` holds ten customers c01..c10 within the last 24 h:
 *
 *   awareness      c01..c10 enter; c01..c06 convert; c07..c10 (email, mostly mobile) drop off
 *   consideration  c01..c06 enter; c01..c03 convert; c04, c05 drop off
 *   purchase       c01..c03 enter; c01 converts to retention
 *   c05 later falls back from consideration to awareness (its furthest stage stays consideration)
 *
 * Site `other` has o1 (converts to consideration) and o2. Cohorts, churn scores and alerts are
 * described where they are built. Replays (same ids, other blocks) are included on purpose.
 */
export interface SampleData {
  touchpoints: CustomerTouchpoint[];
  sessions: SessionRecord[];
  transitions: StageTransition[];
  funnelEvents: FunnelEvent[];
  churnScores: ChurnScore[];
  alerts: AlertEvent[];
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

interface Customer {
  id: string;
  site: string;
  channel: string;
  deviceType: 'desktop' | 'mobile';
  campaign: string | null;
  segment: string | null;
}

function shopCustomer(n: number): Customer {
  return {
    id: `c${String(n).padStart(2, '0')}`,
    site: 'shop',
    channel: n <= 6 ? 'web' : 'email',
    deviceType: n <= 5 ? 'desktop' : 'mobile',
    campaign: n <= 3 ? 'spring' : null,
    segment: n === 1 ? 'vip' : null,
  };
}

const otherCustomer = (id: string): Customer => ({ id, site: 'other', channel: 'ads', deviceType: 'desktop', campaign: null, segment: null });

function funnelEvent(
  c: Customer,
  kind: FunnelEvent['kind'],
  stage: Stage,
  at: number,
  fromStage: Stage | null = null,
  secondsToConvert: number | null = null,
): FunnelEvent {
  return {
    eventId: `${c.id}:${kind}:${fromStage ?? '-'}:${stage}`,
    kind,
    fromStage,
    stage,
    at,
    customerId: c.id,
    site: c.site,
    channel: c.channel,
    campaign: c.campaign,
    deviceType: c.deviceType,
    segment: c.segment,
    secondsToConvert,
  };
}

function transition(c: Customer, fromStage: Stage | null, toStage: Stage, at: number, journeyNumber = 1): StageTransition {
  return {
    transitionId: `${c.id}:${fromStage ?? 'new'}>${toStage}:${at}`,
    customerId: c.id,
    accountId: c.id === 'c01' ? 'acme' : null,
    fromStage,
    toStage,
    at,
    cause: fromStage === null ? 'first touch' : `rule:${toStage}`,
    messageId: `m-${c.id}-${at}`,
    site: c.site,
    channel: c.channel,
    campaign: c.campaign,
    deviceType: c.deviceType,
    segment: c.segment,
    referrerCustomerId: null,
    journeyNumber,
  };
}

/** Seconds to convert out of awareness for c01..c06, and out of consideration for c01..c03. */
export const AWARENESS_SECONDS = [60, 120, 300, 600, 1_200, 4_000] as const;
export const CONSIDERATION_SECONDS = [3_600, 7_200, 90_000] as const;

function funnelAndTransitions(now: number): { funnelEvents: FunnelEvent[]; transitions: StageTransition[] } {
  const start = now - 20 * HOUR;
  const funnelEvents: FunnelEvent[] = [];
  const transitions: StageTransition[] = [];
  for (let n = 1; n <= 10; n++) {
    const c = shopCustomer(n);
    const t0 = start + n * MIN;
    funnelEvents.push(funnelEvent(c, 'entry', 'awareness', t0));
    transitions.push(transition(c, null, 'awareness', t0));
    if (n <= 6) {
      const t1 = start + 2 * HOUR + n * MIN;
      funnelEvents.push(funnelEvent(c, 'conversion', 'consideration', t1, 'awareness', AWARENESS_SECONDS[n - 1]!));
      funnelEvents.push(funnelEvent(c, 'entry', 'consideration', t1));
      transitions.push(transition(c, 'awareness', 'consideration', t1));
    } else {
      funnelEvents.push(funnelEvent(c, 'dropoff', 'awareness', start + 3 * HOUR + n * MIN));
    }
    if (n <= 3) {
      const t2 = start + 6 * HOUR + n * MIN;
      funnelEvents.push(funnelEvent(c, 'conversion', 'purchase', t2, 'consideration', CONSIDERATION_SECONDS[n - 1]!));
      funnelEvents.push(funnelEvent(c, 'entry', 'purchase', t2));
      transitions.push(transition(c, 'consideration', 'purchase', t2));
    } else if (n <= 5) {
      funnelEvents.push(funnelEvent(c, 'dropoff', 'consideration', start + 8 * HOUR + n * MIN));
    }
    if (n === 1) {
      const t3 = start + 12 * HOUR;
      funnelEvents.push(funnelEvent(c, 'conversion', 'retention', t3, 'purchase', 2 * 86_400));
      funnelEvents.push(funnelEvent(c, 'entry', 'retention', t3));
      transitions.push(transition(c, 'purchase', 'retention', t3));
    }
    if (n === 5) transitions.push(transition(c, 'consideration', 'awareness', start + 14 * HOUR));
  }
  const [o1, o2] = [otherCustomer('o1'), otherCustomer('o2')];
  funnelEvents.push(funnelEvent(o1, 'entry', 'awareness', start + 30 * MIN), funnelEvent(o2, 'entry', 'awareness', start + 31 * MIN));
  funnelEvents.push(funnelEvent(o1, 'conversion', 'consideration', start + 40 * MIN, 'awareness', 600));
  funnelEvents.push(funnelEvent(o1, 'entry', 'consideration', start + 40 * MIN));
  transitions.push(transition(o1, null, 'awareness', start + 30 * MIN), transition(o2, null, 'awareness', start + 31 * MIN));
  transitions.push(transition(o1, 'awareness', 'consideration', start + 40 * MIN));
  // Outside the default window: three days ago.
  const old = shopCustomer(99);
  funnelEvents.push(funnelEvent(old, 'entry', 'awareness', now - 3 * DAY));
  transitions.push(transition(old, null, 'awareness', now - 3 * DAY));
  return { funnelEvents, transitions };
}

function touchpoint(customerId: string, at: number, event: string, revenue: number | null = null): CustomerTouchpoint {
  return {
    customerId,
    accountId: null,
    sessionId: `s-${customerId}-${at}`,
    late: false,
    touchpoint: {
      messageId: `tp-${customerId}-${at}-${event}`,
      type: 'track',
      event,
      anonymousId: null,
      userId: customerId,
      previousId: null,
      groupId: null,
      emailHash: null,
      source: 'web-sdk',
      site: 'shop',
      channel: 'web',
      timestamp: at,
      originalTimestamp: at,
      sentAt: at,
      receivedAt: at + 150,
      url: 'https://shop.example/checkout',
      path: '/checkout',
      referrer: null,
      utmSource: null,
      utmMedium: null,
      utmCampaign: null,
      deviceType: 'desktop',
      deviceId: null,
      segment: null,
      revenue,
      properties: '{}',
    },
  };
}

/**
 * Cohorts (weeks start on Monday; with now = Wed 2026-03-04 the last four are 02-09 .. 03-02):
 * p1 buys in week 02-09, visits in 02-16 and renews (revenue) in 03-02; p2 buys in 02-09 only;
 * p3 buys in 02-16 and visits in 02-23; p4 first bought long before (no cohort of the last weeks);
 * p5 never buys.
 */
function cohortTouchpoints(now: number): CustomerTouchpoint[] {
  const monday = now - ((new Date(now).getUTCDay() + 6) % 7) * DAY - (now % DAY);
  const week = (k: number) => monday - k * 7 * DAY + 10 * HOUR;
  return [
    touchpoint('p1', week(3), 'Order Completed', 120),
    touchpoint('p1', week(2), 'Product Viewed'),
    touchpoint('p1', week(0), 'Subscription Renewed', 10),
    touchpoint('p2', week(3) + DAY, 'Order Completed', 80),
    touchpoint('p3', week(2) + DAY, 'Contract Signed'),
    touchpoint('p3', week(1), 'Feature Used'),
    touchpoint('p4', week(8), 'Order Completed', 50),
    touchpoint('p4', week(2), 'Order Completed', 50),
    touchpoint('p5', week(1), 'Product Viewed'),
  ];
}

/**
 * Latest scores, threshold 0.5: o1 0.95, c02 0.9, c03 0.75, c04 0.55 are at risk; c05 was 0.6 but
 * its newer score is 0.3; c01 is 0.2.
 */
function churnScores(now: number): ChurnScore[] {
  const score = (customerId: string, at: number, s: number, reasons: string[], nextAction: string): ChurnScore => ({
    customerId,
    at,
    score: s,
    pAlive: Math.round((1 - s) * 100) / 100,
    reasons,
    nextAction,
    stage: customerId === 'c01' ? 'retention' : 'purchase',
    crossedThreshold: s >= 0.5,
  });
  return [
    score('c01', now - HOUR, 0.2, [], 'none'),
    score('c02', now - HOUR, 0.9, ['no visit in 21 days', 'payment failed'], 'call the customer'),
    score('c03', now - HOUR, 0.75, ['support ticket unresolved'], 'resolve ticket'),
    score('c04', now - HOUR, 0.55, ['fewer sessions than usual'], 'send win-back email'),
    score('c05', now - 5 * HOUR, 0.6, ['visited cancellation page'], 'offer discount'),
    score('c05', now - HOUR, 0.3, [], 'none'),
    score('o1', now - HOUR, 0.95, ['subscription cancelled'], 'exit survey'),
  ];
}

/** a1 fired 3 h ago and resolved 2 h ago; a2 fires since 30 min; a3 is from last week. */
function alerts(now: number): AlertEvent[] {
  const alert = (alertId: string, status: AlertEvent['status'], since: number, at: number, step: string): AlertEvent => ({
    alertId,
    monitor: 'funnel-step-conversion',
    status,
    at,
    since,
    site: 'shop',
    step,
    baselineRate: 0.6,
    observedRate: status === 'firing' ? 0.3 : 0.58,
    dropPct: status === 'firing' ? 50 : 3.3,
    statistic: 4.2,
    breakdownHint: 'channel=email',
    dashboardUrl: `/?site=shop&from=${since - HOUR}`,
  });
  return [
    alert('a1', 'firing', now - 3 * HOUR, now - 3 * HOUR, 'awareness->consideration'),
    alert('a1', 'resolved', now - 3 * HOUR, now - 2 * HOUR, 'awareness->consideration'),
    alert('a2', 'firing', now - 30 * MIN, now - 10 * MIN, 'consideration->purchase'),
    alert('a3', 'firing', now - 5 * DAY, now - 5 * DAY, 'awareness->consideration'),
    alert('a3', 'resolved', now - 5 * DAY, now - 4 * DAY, 'awareness->consideration'),
  ];
}

function sessions(now: number): SessionRecord[] {
  const session = (version: number, customerId: string, status: SessionRecord['status']): SessionRecord => ({
    sessionId: 'sess-1',
    sessionUid: SESSION_UID_UNKNOWN,
    customerId,
    status,
    version,
    site: 'shop',
    startedAt: now - 2 * HOUR,
    endedAt: now - 2 * HOUR + version * MIN,
    eventCount: version * 3,
    channels: ['web'],
    entryEvent: 'Product Viewed',
    exitEvent: 'Checkout Started',
    entryUrl: 'https://shop.example/products',
    exitUrl: null,
    furthestStage: 'consideration',
    converted: false,
  });
  // Re-attributed from an anonymous customer to c02 in version 2, closed in version 3.
  return [session(1, 'anon-1', 'opened'), session(2, 'c02', 'updated'), session(3, 'c02', 'closed')];
}

export function sampleData(now: number): SampleData {
  return {
    ...funnelAndTransitions(now),
    touchpoints: cohortTouchpoints(now),
    sessions: sessions(now),
    churnScores: churnScores(now),
    alerts: alerts(now),
  };
}

export async function insertTopic<K extends WrittenTopicKey>(ch: ClickHouse, key: K, values: TopicValues[K][]): Promise<void> {
  const { table, toRow } = TABLE_FOR_TOPIC[key];
  await ch.client.insert({
    table: `${ch.database}.${table}`,
    values: values.map((v) => toRow(v)),
    format: 'JSONEachRow',
    // Embedded chdb keeps per-query settings for the rest of the session: clear a token another
    // inserter may have left, or these blocks would be dropped as its retries.
    clickhouse_settings: { insert_deduplication_token: '' },
  });
}

/**
 * Inserts the sample through the same mappers as the writer, one row per insert for versioned data
 * so each version is its own part (as it would be in production), then replays a few events, and
 * refreshes the snapshots (stage_counts).
 */
export async function insertSampleData(ch: ClickHouse, data: SampleData): Promise<void> {
  await insertTopic(ch, 'customerTouchpoints', data.touchpoints);
  await insertTopic(ch, 'funnelEvents', data.funnelEvents);
  await insertTopic(ch, 'stageTransitions', data.transitions);
  for (const s of data.sessions) await insertTopic(ch, 'sessions', [s]);
  for (const c of data.churnScores) await insertTopic(ch, 'churnScores', [c]);
  for (const a of data.alerts) await insertTopic(ch, 'alerts', [a]);
  // Replays in later blocks: raw tables collapse them (FINAL), unique-customer counts ignore them.
  await insertTopic(ch, 'funnelEvents', data.funnelEvents.slice(0, 5));
  await insertTopic(ch, 'stageTransitions', data.transitions.slice(0, 5));
  // The snapshots would take the rows in at their next scheduled refresh: the tests read them now.
  await refreshSnapshots(ch);
}
