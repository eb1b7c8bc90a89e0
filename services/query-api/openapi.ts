import { z } from 'zod';
import type { Endpoint } from './endpoints.js';
import { ErrorResponse } from './responses.js';
import { ADMIN_OPERATIONS } from './admin-endpoints.js';

type JsonSchema = Record<string, unknown>;

const SECURITY_SCHEME = 'apiKey';

/** Query or path parameters of an endpoint, from its zod schema (input side: what a caller sends). */
function parameters(query: z.ZodType, where: 'query' | 'path' = 'query'): JsonSchema[] {
  const schema = z.toJSONSchema(query, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => {
    const { description, examples, ...rest } = property as { description?: string; examples?: unknown[] };
    return {
      name,
      in: where,
      required: where === 'path' || (schema.required?.includes(name) ?? false),
      ...(description ? { description } : {}),
      ...(examples?.[0] !== undefined ? { example: examples[0] } : {}),
      schema: rest,
    };
  });
}

const responseSchema = (schema: z.ZodType): JsonSchema => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as JsonSchema;
  return rest;
};

/** The OpenAPI 3.1 document of the query API, generated from the same zod schemas that validate requests. */
export function openApiDocument(endpoints: Endpoint[]): JsonSchema {
  const error = (description: string) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  });
  const paths: Record<string, unknown> = {};
  for (const e of endpoints) {
    paths[e.path.replace(/:(\w+)/g, '{$1}')] = {
      get: {
        operationId: e.operationId ?? e.path.replace(/^\/api\//, '').replace(/[/-](\w)/g, (_m, c: string) => c.toUpperCase()),
        summary: e.summary,
        description: e.description,
        security: [{ [SECURITY_SCHEME]: [e.scope] }],
        parameters: [...(e.params ? parameters(e.params, 'path') : []), ...parameters(e.query)],
        responses: {
          '200': { description: 'OK', content: { 'application/json': { schema: responseSchema(e.response) } } },
          '400': error('A parameter is invalid; the message names it'),
          '401': error('Keys are configured and no valid key was sent (Authorization: Bearer <key>)'),
          '403': error(`The key is valid but lacks scope ${e.scope}`),
          ...(e.notFound ? { '404': error(e.notFound) } : {}),
          '503': error('ClickHouse did not answer'),
        },
      },
    };
  }
  for (const op of ADMIN_OPERATIONS) {
    const operation = {
      operationId: op.operationId,
      summary: op.summary,
      security: [{ [SECURITY_SCHEME]: ['admin'] }],
      ...('body' in op ? { requestBody: { required: true, content: { 'application/json': { schema: responseSchema(op.body) } } } } : { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }] }),
      responses: {
        [op.status]: { description: op.status === '202' ? 'Recorded, pending; the writer executes it' : 'OK', content: { 'application/json': { schema: responseSchema(op.response) } } },
        '400': error('The body or id is invalid; the message names the field'),
        '401': error('No valid key was sent (Authorization: Bearer <key>)'),
        '403': error('The key lacks scope admin, or no keys are configured (admin endpoints are never open)'),
        ...('notFound' in op ? { '404': error(op.notFound) } : {}),
        '503': error('ClickHouse did not answer'),
      },
    };
    paths[op.path] = { ...(paths[op.path] as object | undefined), [op.method]: operation };
  }
  paths['/api/openapi.json'] = {
    get: { operationId: 'openapi', summary: 'This document (open: no key needed)', security: [], responses: { '200': { description: 'OpenAPI 3.1 document' } } },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Customer-journey query API',
      version: '1.0.0',
      description:
        'Read-only JSON over the journey tables in ClickHouse. Times are ISO-8601 (UTC when no zone) or epoch milliseconds; windows default to the last 24 h. Unknown parameters are rejected.',
    },
    paths,
    components: {
      schemas: { Error: responseSchema(ErrorResponse) },
      securitySchemes: {
        [SECURITY_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key from QUERY_API_KEYS_FILE, as Authorization: Bearer <key>. Scopes: dashboard (aggregates), profiles (customer-level data, and everything dashboard reads) and admin (the /admin deletion endpoints only); ' +
            "each operation's security lists the scope it needs. Without QUERY_API_KEYS_FILE (loopback only) no key is asked for. /healthz and /metrics are always open.",
        },
      },
    },
  };
}
