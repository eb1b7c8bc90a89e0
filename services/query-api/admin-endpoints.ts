import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ClickHouse } from '../platform/clickhouse/client.js';
import { DeletionAsk, InvalidIdError } from '../platform/privacy/deletion-request.js';
import { deletionsTable, type DeletionView } from '../platform/privacy/deletions-table.js';
import { bearerToken, findApiKey, type ApiKey } from './api-keys.js';
import { requireScope } from './auth.js';
import { BadRequestError, NotFoundError } from './params.js';
import { DeletionResponse, errorBody } from './responses.js';

/** The body of POST /admin/v1/deletions: exactly one id of the customer. */
export const DeletionBody = z
  .strictObject({
    userId: z.string().optional(),
    anonymousId: z.string().optional(),
    email: z.string().optional().meta({ description: 'Hashed here as the collector hashes it (sha256 of the trimmed, lower-cased address); never stored' }),
    customerId: z.string().optional().meta({ description: 'A namespaced id: u:<userId>, a:<anonymousId> or e:<email hash>' }),
    suppress: z.boolean().optional().meta({ description: 'Also drop every later event of these ids at the collector (default false)' }),
  })
  .refine((b) => [b.userId, b.anonymousId, b.email, b.customerId].filter((v) => v !== undefined).length === 1, { message: 'exactly one of userId, anonymousId, email, customerId' });

const DeletionPath = z.strictObject({ id: z.string().regex(/^del_[0-9a-f-]{36}$/, 'not a deletion id') });

const view = (d: DeletionView) =>
  DeletionResponse.parse({ ...d, requestedAt: new Date(d.requestedAt).toISOString(), finishedAt: d.finishedAt === null ? null : new Date(d.finishedAt).toISOString() });

const firstIssue = (error: z.ZodError) => {
  const issue = error.issues[0]!;
  return `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`;
};

/**
 * The deletion endpoints (README: Privacy). They need a key of scope `admin`, always: without
 * QUERY_API_KEYS_FILE (the loopback-only open mode) they answer 403, as erasing customers is never
 * open. A request is recorded pending in `deletions`; the writer executes it. Against a server the
 * API's ClickHouse user needs INSERT on `deletions` besides its SELECT grant.
 */
export function registerAdminEndpoints(app: FastifyInstance, deps: { clickhouse: ClickHouse; apiKeys: readonly ApiKey[] | undefined; now: () => number }): void {
  const table = deletionsTable(deps.clickhouse);
  const onRequest = deps.apiKeys === undefined
    ? async (_request: unknown, reply: { code(n: number): { send(b: unknown): unknown } }) => reply.code(403).send(errorBody('forbidden', 'the admin endpoints need QUERY_API_KEYS_FILE with a key of scope admin'))
    : requireScope(deps.apiKeys, 'admin');

  app.post('/admin/v1/deletions', { onRequest }, async (request, reply) => {
    const body = DeletionBody.safeParse(request.body ?? {});
    if (!body.success) throw new BadRequestError(firstIssue(body.error));
    const b = body.data;
    const [kind, id] = b.userId !== undefined ? (['userId', b.userId] as const) : b.anonymousId !== undefined ? (['anonymousId', b.anonymousId] as const) : b.email !== undefined ? (['email', b.email] as const) : (['customerId', b.customerId!] as const);
    const key = findApiKey(deps.apiKeys ?? [], bearerToken(request.headers.authorization) ?? '');
    const ask = DeletionAsk.safeParse({ kind, id, suppress: b.suppress ?? false, requestedBy: `admin-key:${key?.name ?? 'unknown'}` });
    if (!ask.success) throw new BadRequestError(firstIssue(ask.error));
    try {
      const created = await table.request(ask.data, deps.now());
      request.log.info({ deletionId: created.deletionId, kind, keyName: key?.name }, 'deletion requested');
      return reply.code(202).send(view(created));
    } catch (error) {
      if (error instanceof InvalidIdError) throw new BadRequestError(error.message);
      throw error;
    }
  });

  app.get('/admin/v1/deletions/:id', { onRequest }, async (request) => {
    const path = DeletionPath.safeParse(request.params);
    if (!path.success) throw new BadRequestError(firstIssue(path.error));
    const found = await table.read(path.data.id);
    if (found === null) throw new NotFoundError(`no deletion ${path.data.id}`);
    return view(found);
  });
}

/** The admin operations for the OpenAPI document (openapi.ts adds the shared error answers). */
export const ADMIN_OPERATIONS = [
  { method: 'post', path: '/admin/v1/deletions', operationId: 'requestDeletion', summary: 'Forget a customer: delete every row, state and link of every id linked to the one given; optionally suppress it', body: DeletionBody, status: '202', response: DeletionResponse },
  { method: 'get', path: '/admin/v1/deletions/{id}', operationId: 'deletionStatus', summary: 'A deletion\'s status: pending, done (with rows deleted per table) or not_found', status: '200', response: DeletionResponse, notFound: 'No deletion with this id' },
] as const;
