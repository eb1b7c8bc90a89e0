import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../logging/logger.js';
import type { Component, Health } from '../runtime/component.js';
import { registerOpsRoutes } from './ops-routes.js';

/** A small HTTP server for services that have no API of their own: /healthz and /metrics only. */
export function createOpsServer(deps: {
  name: string;
  host: string;
  port: number;
  registry: Registry;
  health: () => Health;
  logger: Logger;
}): Component & { address(): string } {
  let app: FastifyInstance | undefined;
  let address = '';
  return {
    name: `${deps.name}-ops-http`,
    async start() {
      const server = Fastify({ logger: false });
      registerOpsRoutes(server, deps);
      address = await server.listen({ host: deps.host, port: deps.port });
      app = server;
      deps.logger.info({ address }, 'ops http listening');
    },
    async stop() {
      await app?.close();
    },
    health: () => ({ ok: true }),
    address: () => address,
  };
}
