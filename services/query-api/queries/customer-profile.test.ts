import { describe, expect, it } from 'vitest';
import { decodeCursor } from '../cursor.js';
import { CustomerPath, CustomerTimelineQuery, parseQuery } from '../params.js';
import type { ResolvedCustomer } from './customer-identity.js';
import { shapeProfile, splitSummary, type ChurnRow, type JourneyRow, type ProfileRows, type SessionRow, type SummaryRow } from './customer-profile.js';
import { shapeTimelinePage, type TimelineRow } from './customer-timeline.js';

const T = Date.UTC(2026, 2, 4, 9);
const resolved: ResolvedCustomer = { customerId: 'u:al', linkedIds: ['u:al', 'a:d1'], seenInTouchpoints: true, truncated: false };
const none: ProfileRows = { journeys: [], transitions: [], sessions: [], churn: [], touchpointAccount: [] };

const journey = (customer_id: string, stage: JourneyRow['stage'], enteredMs: number, account_id: string | null): JourneyRow => ({
  customer_id,
  stage,
  entered_at_ms: String(enteredMs),
  previous_stage: null,
  furthest_stage: stage,
  account_id,
  journey_number: '1',
});
const churn = (customer_id: string, atMs: number, score: number): ChurnRow => ({
  customer_id,
  at_ms: atMs,
  score,
  p_alive: 1 - score,
  reasons: [],
  next_action: 'none',
  stage: null,
  crossed_threshold: 0,
});

describe('shapeProfile', () => {
  it('is null only when no table knows any linked id', () => {
    expect(shapeProfile({ ...resolved, seenInTouchpoints: false }, none)).toBeNull();
    expect(shapeProfile(resolved, none)).toMatchObject({ customerId: 'u:al', stage: null, churn: null, account: null, transitions: [], sessions: [] });
    expect(shapeProfile({ ...resolved, seenInTouchpoints: false }, { ...none, churn: [churn('u:al', T, 0.2)] })).not.toBeNull();
  });

  it("takes the stage of the journey entered last and the newest churn score across linked ids", () => {
    const p = shapeProfile(resolved, {
      ...none,
      journeys: [journey('a:d1', 'consideration', T + 5, 'old-co'), journey('u:al', 'awareness', T, null)],
      churn: [churn('u:al', T, 0.9), churn('a:d1', T + 1, 0.1)],
    })!;
    expect(p.stage).toEqual({ current: 'consideration', enteredAt: new Date(T + 5).toISOString(), previous: null, furthest: 'consideration', journeyNumber: 1, customerId: 'a:d1' });
    expect(p.churn).toMatchObject({ customerId: 'a:d1', score: 0.1, crossedThreshold: false });
    expect(p.account).toEqual({ accountId: 'old-co' });
  });

  it("prefers the newest touchpoint's account to the journey's, and says whether the linked ids are complete", () => {
    const p = shapeProfile({ ...resolved, truncated: true }, { ...none, journeys: [journey('u:al', 'awareness', T, 'old-co')], touchpointAccount: [{ account_id: 'acme' }] })!;
    expect(p.account).toEqual({ accountId: 'acme' });
    expect(p.linkedIdsComplete).toBe(false);
  });

  it('orders transitions oldest first and leaves merged sessions out', () => {
    const transition = (id: string, atMs: number) => ({ transition_id: id, customer_id: 'u:al', from_stage: null, to_stage: 'awareness' as const, at_ms: atMs, cause: 'c', site: 's', channel: 'web', journey_number: 1 });
    const session = (session_id: string, status: SessionRow['status']): SessionRow => ({
      session_id, customer_id: 'u:al', status, site: 's', started_at_ms: T, ended_at_ms: T, event_count: '2', channels: [], entry_event: 'a', exit_event: 'b', entry_url: null, exit_url: null, furthest_stage: null, converted: 1,
    });
    const p = shapeProfile(resolved, { ...none, transitions: [transition('t2', T + 1), transition('t1b', T), transition('t1a', T)], sessions: [session('s1', 'closed'), session('s2', 'merged')] })!;
    expect(p.transitions.map((t) => t.transitionId)).toEqual(['t1a', 't1b', 't2']);
    expect(p.sessions).toHaveLength(1);
    expect(p.sessions[0]).toMatchObject({ sessionId: 's1', status: 'closed', eventCount: 2, converted: true });
  });
});

describe('shapeTimelinePage', () => {
  const row = (message_id: string, tsMs: number): TimelineRow => ({
    message_id, customer_id: 'u:al', session_id: 's', type: 'track', event: 'e', anonymous_id: null, user_id: 'al', account_id: null,
    site: 's', channel: 'web', ts_ms: String(tsMs), url: null, path: null, utm_campaign: null, device_type: 'desktop', revenue: null, late: 0, properties: '{}',
  });

  it('serves limit rows and points the cursor at the last one served when another page exists', () => {
    const page = shapeTimelinePage('u:al', ['u:al'], 2, [row('m1', T), row('m2', T), row('m3', T + 1)]);
    expect(page.touchpoints.map((t) => t.messageId)).toEqual(['m1', 'm2']);
    expect(decodeCursor(page.nextCursor!)).toEqual({ tsMs: T, messageId: 'm2' });
    expect(page.touchpoints[0]).toMatchObject({ at: new Date(T).toISOString(), late: false });
  });

  it('has no cursor on the last page, even when it is exactly full', () => {
    expect(shapeTimelinePage('u:al', ['u:al'], 2, [row('m1', T), row('m2', T)]).nextCursor).toBeNull();
    expect(shapeTimelinePage('u:al', ['u:al'], 2, []).nextCursor).toBeNull();
  });
});

describe('customer parameters', () => {
  const message = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return (error as Error).message;
    }
    return 'no error';
  };

  it('take any printable id up to 256 characters, and a page size of 1..500', () => {
    expect(parseQuery(CustomerPath, { id: "u:o'brien €" })).toEqual({ id: "u:o'brien €" });
    expect(parseQuery(CustomerTimelineQuery, { limit: '500', cursor: 'abc' })).toEqual({ limit: 500, cursor: 'abc' });
    expect(parseQuery(CustomerTimelineQuery, {})).toEqual({});
  });

  it('reject the rest with the parameter named', () => {
    expect(message(() => parseQuery(CustomerPath, { id: 'a\u0000b' }))).toBe('id: expected printable text');
    expect(message(() => parseQuery(CustomerPath, { id: 'x'.repeat(257) }))).toBe('id: expected at most 256 characters');
    expect(message(() => parseQuery(CustomerPath, { id: '' }))).toBe('id: expected a customer id');
    expect(message(() => parseQuery(CustomerTimelineQuery, { limit: '501' }))).toBe('limit: expected at most 500');
    expect(message(() => parseQuery(CustomerTimelineQuery, { limit: '1e3' }))).toBe('limit: expected a whole number');
    expect(message(() => parseQuery(CustomerTimelineQuery, { limit: ['1', '2'] }))).toBe('limit: expected a single value');
    expect(message(() => parseQuery(CustomerTimelineQuery, { page: '2' }))).toBe('page: unknown parameter');
  });
});

describe('splitSummary', () => {
  const empty = { score: 0, p_alive: 0, reasons: [], next_action: '', stage: null, crossed_threshold: false };
  const row = (customer_id: string, parts: Partial<SummaryRow>): SummaryRow => ({
    customer_id, stage: 'awareness', entered_at_ms: null, previous_stage: null, furthest_stage: 'awareness', journey_account_id: null,
    journey_number: '0', churn_at_ms: null, churn: empty, account_at_ms: null, account_id: '', ...parts,
  });

  it('keeps only the parts each id has, and the account of the newest touchpoint across ids', () => {
    const rows = splitSummary([
      row('u:al', { entered_at_ms: String(T), stage: 'purchase', furthest_stage: 'purchase', journey_number: '2', journey_account_id: 'old-co', account_at_ms: String(T - 5), account_id: 'acme' }),
      row('a:d1', { churn_at_ms: String(T + 1), churn: { ...empty, score: 0.4, reasons: ['silent'], next_action: 'email' }, account_at_ms: String(T + 9), account_id: 'beta' }),
      row('a:d2', {}),
    ]);
    expect(rows.journeys).toEqual([{ customer_id: 'u:al', stage: 'purchase', entered_at_ms: String(T), previous_stage: null, furthest_stage: 'purchase', account_id: 'old-co', journey_number: '2' }]);
    expect(rows.churn).toEqual([{ ...empty, score: 0.4, reasons: ['silent'], next_action: 'email', customer_id: 'a:d1', at_ms: String(T + 1) }]);
    expect(rows.touchpointAccount).toEqual([{ account_id: 'beta' }]);
  });

  it('gives nothing for ids with no summary', () => {
    expect(splitSummary([])).toEqual({ journeys: [], churn: [], touchpointAccount: [] });
    expect(shapeProfile({ ...resolved, seenInTouchpoints: false }, { ...none, ...splitSummary([row('u:al', {})]) })).toBeNull();
  });
});
