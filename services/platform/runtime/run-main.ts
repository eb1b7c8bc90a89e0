import type { Logger } from '../logging/logger.js';
import { ConfigError } from '../config/env.js';
import type { Component } from './component.js';
import { installShutdown } from './shutdown.js';

export interface RunningService {
  component: Component;
  logger: Logger;
  /** Printed once started (where to look). */
  banner?: () => string;
  shutdownTimeoutMs?: number;
}

/**
 * The tail of every main.ts: start, print where to look, stop gracefully on SIGTERM/SIGINT.
 * A configuration error is printed plainly (it names the variable) and exits 2 without a stack.
 */
export async function runMain(build: () => Promise<RunningService>): Promise<void> {
  let service: RunningService;
  try {
    service = await build();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  installShutdown({ stop: () => service.component.stop(), timeoutMs: service.shutdownTimeoutMs ?? 30_000, logger: service.logger });
  try {
    await service.component.start();
  } catch (error) {
    service.logger.fatal({ err: error }, 'failed to start');
    await service.component.stop().catch(() => undefined);
    process.exit(1);
  }
  if (service.banner) process.stdout.write(`${service.banner()}\n`);
}
