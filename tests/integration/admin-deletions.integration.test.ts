import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashEmail } from '../../services/platform/segment/email.js';
import { forgottenIdHash } from '../../services/platform/privacy/forgotten-ids.js';
import { buildQueryApi } from '../../services/query-api/app.js';
import * as R from '../../services/query-api/responses.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';

const ADMIN = 'admin-key-0123456789abcdefghij';
const PROFILES = 'profiles-key-0123456789abcdefgh';
const NOW = Date.UTC(2026, 11, 1, 12);

describe('POST /admin/v1/deletions and GET /admin/v1/deletions/{id}', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase('admin');
  });
  afterAll(async () => db?.drop());
  const api = (keys = [{ name: 'dpo', key: ADMIN, scope: 'admin' as const }, { name: 'crm', key: PROFILES, scope: 'profiles' as const }]) =>
    buildQueryApi({ clickhouse: db.ch, logger: pino({ level: 'silent' }), metrics: new Registry(), now: () => NOW, cacheTtlMs: 0, apiKeys: keys });

  it('records a pending deletion for an admin key only, with the email hashed as the collector hashes it, and reports its status', async () => {
    const app = api();
    try {
      const post = (payload: unknown, key?: string) => app.inject({ method: 'POST', url: '/admin/v1/deletions', payload: payload as object, headers: key ? { authorization: `Bearer ${key}` } : {} });
      expect((await post({ userId: 'x' })).statusCode).toBe(401);
      expect((await post({ userId: 'x' }, PROFILES)).statusCode).toBe(403);
      expect((await app.inject({ url: '/api/funnel', headers: { authorization: `Bearer ${ADMIN}` } })).statusCode).toBe(403);
      for (const bad of [{}, { userId: 'a', email: 'b@c.d' }, { email: 'not-an-address' }, { customerId: 'alice' }, { userId: 'a\u0001' }, { userId: 'a', extra: 1 }]) {
        const answer = await post(bad, ADMIN);
        expect(answer.statusCode, JSON.stringify(bad)).toBe(400);
        expect(R.ErrorResponse.parse(answer.json()).error.code).toBe('bad_request');
      }
      const created = await post({ email: ' Alice@Example.com', suppress: true }, ADMIN);
      expect(created.statusCode).toBe(202);
      const body = R.DeletionResponse.parse(created.json());
      expect(body).toMatchObject({ status: 'pending', idKind: 'email', suppress: true, requestedBy: 'admin-key:dpo', ids: 0, finishedAt: null, requestedAt: new Date(NOW).toISOString() });
      const status = await app.inject({ url: `/admin/v1/deletions/${body.deletionId}`, headers: { authorization: `Bearer ${ADMIN}` } });
      expect(R.DeletionResponse.parse(status.json())).toEqual(body);
      const rs = await db.ch.client.query({ query: `SELECT requested_id, requested_id_hash FROM ${db.database}.deletions`, format: 'JSONEachRow' });
      const e = `e:${hashEmail('alice@example.com')}`;
      expect(await rs.json()).toEqual([{ requested_id: e, requested_id_hash: forgottenIdHash(e) }]);
      expect((await app.inject({ url: '/admin/v1/deletions/del_00000000-0000-0000-0000-000000000000', headers: { authorization: `Bearer ${ADMIN}` } })).statusCode).toBe(404);
      expect((await app.inject({ url: '/admin/v1/deletions/nope', headers: { authorization: `Bearer ${ADMIN}` } })).statusCode).toBe(400);
      const doc = (await app.inject({ url: '/api/openapi.json' })).json() as { paths: Record<string, Record<string, { security: unknown }>> };
      expect(doc.paths['/admin/v1/deletions']!.post!.security).toEqual([{ apiKey: ['admin'] }]);
      expect(doc.paths['/admin/v1/deletions/{id}']!.get!.security).toEqual([{ apiKey: ['admin'] }]);
    } finally {
      await app.close();
    }
  });

  it('is never open: without a keys file the admin endpoints answer 403', async () => {
    const app = buildQueryApi({ clickhouse: db.ch, logger: pino({ level: 'silent' }), metrics: new Registry(), now: () => NOW, cacheTtlMs: 0 });
    try {
      expect((await app.inject({ method: 'POST', url: '/admin/v1/deletions', payload: { userId: 'x' } })).statusCode).toBe(403);
    } finally {
      await app.close();
    }
  });
});
