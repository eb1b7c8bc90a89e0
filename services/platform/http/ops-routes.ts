import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Health } from '../runtime/component.js';

/** `/healthz` (200 when healthy, 503 otherwise, JSON details) and `/metrics` (Prometheus text). */
export function registerOpsRoutes(app: FastifyInstance, deps: { registry: Registry; health: () => Health }): void {
  app.get('/healthz', async (_req, reply) => {
    const health = deps.health();
    return reply.code(health.ok ? 200 : 503).send(health);
  });
  app.get('/metrics', async (_req, reply) => {
    return reply.header('content-type', deps.registry.contentType).send(await deps.registry.metrics());
  });
}
