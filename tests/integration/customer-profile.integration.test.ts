import pino from 'pino';
import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQueryApi } from '../../services/query-api/app.js';
import * as R from '../../services/query-api/responses.js';
import { MIN, insertStitchedCustomer, stitchedCustomer } from '../support/customer-profile-fixture.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';

const T0 = Date.UTC(2026, 2, 4, 9);
const at = (minutes: number) => new Date(T0 + minutes * MIN).toISOString();

let db: TestDatabase;
let api: FastifyInstance;

beforeAll(async () => {
  db = await freshDatabase('profile');
  await insertStitchedCustomer(db.ch, stitchedCustomer(T0));
  // cacheTtlMs 0: every request below reaches ClickHouse.
  api = buildQueryApi({ clickhouse: db.ch, logger: pino({ level: 'silent' }), metrics: new Registry(), now: () => T0, cacheTtlMs: 0 });
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

async function answer(url: string): Promise<{ status: number; body: unknown }> {
  const response = await api.inject({ url });
  expect(response.body).not.toMatch(/at \w+ \(|DB::Exception/);
  return { status: response.statusCode, body: response.json() };
}

const profileUrl = (id: string) => `/api/customers/${encodeURIComponent(id)}`;
const timelineUrl = (id: string, query = '') => `/api/customers/${encodeURIComponent(id)}/timeline${query}`;

const EXPECTED_PROFILE = {
  customerId: 'u:alice',
  linkedIds: ['u:alice', 'a:anon-7', 'a:anon-9'],
  linkedIdsComplete: true,
  stage: { current: 'purchase', enteredAt: at(20), previous: 'consideration', furthest: 'purchase', journeyNumber: 1, customerId: 'u:alice' },
  transitions: [
    { transitionId: `a:anon-7:awareness:${T0}`, customerId: 'a:anon-7', from: null, to: 'awareness', at: at(0), cause: 'first touch', site: 'shop', channel: 'web', journeyNumber: 1 },
    { transitionId: `u:alice:consideration:${T0 + 14 * MIN}`, customerId: 'u:alice', from: 'awareness', to: 'consideration', at: at(14), cause: 'rule:consideration', site: 'shop', channel: 'web', journeyNumber: 1 },
    { transitionId: `u:alice:purchase:${T0 + 20 * MIN}`, customerId: 'u:alice', from: 'consideration', to: 'purchase', at: at(20), cause: 'rule:purchase', site: 'shop', channel: 'web', journeyNumber: 1 },
  ],
  sessions: [
    { sessionId: 's-al2', customerId: 'u:alice', status: 'opened', site: 'shop', startedAt: at(90), endedAt: at(90), eventCount: 3, channels: ['web'], entryEvent: 'Page Viewed', exitEvent: 'Product Viewed', entryUrl: 'https://shop.example/', exitUrl: null, furthestStage: 'awareness', converted: false },
    { sessionId: 's-al1', customerId: 'u:alice', status: 'updated', site: 'shop', startedAt: at(10), endedAt: at(20), eventCount: 4, channels: ['web'], entryEvent: 'Page Viewed', exitEvent: 'Product Viewed', entryUrl: 'https://shop.example/', exitUrl: null, furthestStage: 'awareness', converted: false },
    { sessionId: 's-a7', customerId: 'a:anon-7', status: 'closed', site: 'shop', startedAt: at(0), endedAt: at(2), eventCount: 4, channels: ['web'], entryEvent: 'Page Viewed', exitEvent: 'Product Viewed', entryUrl: 'https://shop.example/', exitUrl: null, furthestStage: 'awareness', converted: false },
  ],
  churn: { customerId: 'u:alice', score: 0.7, pAlive: 0.3, reasons: ['no visit in 14 days', 'cart abandoned'], nextAction: 'send win-back email', stage: 'purchase', crossedThreshold: true, at: at(200) },
  account: { accountId: 'acme' },
};

/** The timeline's order: (time, messageId); u:bob's b01 never appears. */
const TIMELINE_ORDER = ['m01', 'm02', 'm03', 'm04', 'm05', 'm06', 'm07', 'm08a', 'm08b', 'm09', 'm10'];

describe('GET /api/customers/{id}', () => {
  it.each(['u:alice', 'a:anon-7', 'a:anon-9'])('resolves %s to the stitched customer with its whole profile', async (id) => {
    const { status, body } = await answer(profileUrl(id));
    expect(status, JSON.stringify(body)).toBe(200);
    expect(R.CustomerProfileResponse.parse(body)).toEqual(EXPECTED_PROFILE);
  });

  it('answers an unknown id, and an injection-shaped one, with a JSON 404', async () => {
    for (const id of ['u:nobody', "u:alice' OR '1'='1", 'alice']) {
      const { status, body } = await answer(profileUrl(id));
      expect(status, id).toBe(404);
      expect(R.ErrorResponse.parse(body).error.code).toBe('not_found');
    }
  });

  it('keeps an unrelated customer apart', async () => {
    const { body } = await answer(profileUrl('a:anon-b'));
    expect(R.CustomerProfileResponse.parse(body)).toMatchObject({ customerId: 'u:bob', linkedIds: ['u:bob', 'a:anon-b'], churn: { score: 0.9 } });
  });
});

describe('GET /api/customers/{id}/timeline', () => {
  it('pages through every linked id\'s touchpoints in order, without duplicates or gaps', async () => {
    for (const id of ['a:anon-9', 'u:alice']) {
      const pages: string[][] = [];
      let cursor: string | null = null;
      do {
        const { status, body } = await answer(timelineUrl(id, `?limit=4${cursor ? `&cursor=${cursor}` : ''}`));
        expect(status, JSON.stringify(body)).toBe(200);
        const page = R.CustomerTimelineResponse.parse(body);
        expect(page).toMatchObject({ customerId: 'u:alice', linkedIds: ['u:alice', 'a:anon-7', 'a:anon-9'], limit: 4 });
        pages.push(page.touchpoints.map((t) => t.messageId));
        cursor = page.nextCursor;
      } while (cursor !== null && pages.length < 10);
      expect(pages).toEqual([TIMELINE_ORDER.slice(0, 4), TIMELINE_ORDER.slice(4, 8), TIMELINE_ORDER.slice(8)]);
    }
  });

  it('serves each touchpoint as stored, under the id it was processed with', async () => {
    const { body } = await answer(timelineUrl('u:alice', '?limit=500'));
    const page = R.CustomerTimelineResponse.parse(body);
    expect(page.nextCursor).toBeNull();
    expect(page.touchpoints.map((t) => t.messageId)).toEqual(TIMELINE_ORDER);
    expect(page.touchpoints[0]).toEqual({
      messageId: 'm01', customerId: 'a:anon-7', sessionId: 's-a7', type: 'track', event: 'Page Viewed', anonymousId: 'anon-7', userId: null,
      accountId: null, site: 'shop', channel: 'web', at: at(0), url: 'https://shop.example/page-viewed', path: '/page-viewed', campaign: null,
      deviceType: 'desktop', revenue: null, late: false, properties: '{}',
    });
    expect(page.touchpoints.find((t) => t.messageId === 'm09')).toMatchObject({ customerId: 'u:alice', accountId: 'acme', revenue: 99, at: at(20) });
  });

  it('ends with an exactly full last page and a null cursor', async () => {
    const first = R.CustomerTimelineResponse.parse((await answer(timelineUrl('u:alice', '?limit=10'))).body);
    const last = R.CustomerTimelineResponse.parse((await answer(timelineUrl('u:alice', `?limit=1&cursor=${first.nextCursor}`))).body);
    expect(last.touchpoints.map((t) => t.messageId)).toEqual(['m10']);
    expect(last.nextCursor).toBeNull();
  });

  it('answers an unknown id with 404', async () => {
    const { status, body } = await answer(timelineUrl('a:nobody'));
    expect(status).toBe(404);
    expect(R.ErrorResponse.parse(body).error.code).toBe('not_found');
  });

  it.each([
    ['limit=0', 'limit: expected at least 1'],
    ['limit=1000000', 'limit: expected at most 500'],
    ['limit=abc', 'limit: expected a whole number'],
    ['limit=-1', 'limit: expected a whole number'],
    ['cursor=not!a!cursor', 'cursor: not a cursor'],
    [`cursor=${Buffer.from('{"a":1}').toString('base64url')}`, 'cursor: not a cursor'],
    [`cursor=${Buffer.from('[1,"x\' OR 1=1",3]').toString('base64url')}`, 'cursor: not a cursor'],
    ['cursor=AAAA…(5000)', 'cursor: expected at most 1000 characters'],
    ['limit=1&limit=2', 'limit: expected a single value'],
    ['sort=desc', 'sort: unknown parameter'],
  ])('answers ?%s with a 400 naming the parameter', async (query, message) => {
    const { status, body } = await answer(timelineUrl('u:alice', `?${query.replace('AAAA…(5000)', 'A'.repeat(5_000))}`));
    expect(status, JSON.stringify(body)).toBe(400);
    const error = R.ErrorResponse.parse(body).error;
    expect(error.code).toBe('bad_request');
    expect(error.message.startsWith(message), error.message).toBe(true);
  });
});

describe('hostile customer ids', () => {
  it.each([
    ['a control character', '/api/customers/u%3Aalice%01', 'id: expected printable text'],
    ['a newline', '/api/customers/u%3Aalice%0Ax', 'id: expected printable text'],
    ['257 characters', `/api/customers/u%3A${'x'.repeat(255)}`, 'id: expected at most 256 characters'],
    ['a query parameter on the profile', '/api/customers/u%3Aalice?limit=5', 'limit: unknown parameter'],
  ])('answers %s with a 400 naming it', async (_name, url, message) => {
    const { status, body } = await answer(url);
    expect(status, JSON.stringify(body)).toBe(400);
    expect(R.ErrorResponse.parse(body).error.message).toBe(message);
  });
});

describe('OpenAPI', () => {
  it('documents both customer endpoints with their path parameter, 404 and the key answers (401, 403)', async () => {
    const doc = (await answer('/api/openapi.json')).body as { paths: Record<string, { get: { parameters: { name: string; in: string }[]; responses: Record<string, unknown> } }> };
    for (const path of ['/api/customers/{id}', '/api/customers/{id}/timeline']) {
      const op = doc.paths[path]!.get;
      expect(op.parameters[0]).toMatchObject({ name: 'id', in: 'path', required: true });
      expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '401', '403', '404', '503']);
    }
    expect(doc.paths['/api/customers/{id}/timeline']!.get.parameters.map((p) => p.name)).toEqual(['id', 'limit', 'cursor']);
  });
});
