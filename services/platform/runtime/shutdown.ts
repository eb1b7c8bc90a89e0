import type { Logger } from '../logging/logger.js';

export interface ShutdownOptions {
  stop: () => Promise<void>;
  timeoutMs: number;
  logger: Logger;
  exit?: (code: number) => void;
  signals?: NodeJS.Signals[];
}

/**
 * On the first SIGTERM/SIGINT, runs `stop` once and exits 0, or 1 when stop fails or outlives the
 * timeout (a hard-exit watchdog, so a stuck flush cannot keep a pod alive forever). Later signals
 * are ignored while stopping. Returns a function that uninstalls the handlers.
 */
export function installShutdown(options: ShutdownOptions): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    options.logger.info({ signal }, 'shutting down');
    const watchdog = setTimeout(() => {
      options.logger.error({ timeoutMs: options.timeoutMs }, 'shutdown timed out');
      exit(1);
    }, options.timeoutMs);
    watchdog.unref();
    options
      .stop()
      .then(() => {
        clearTimeout(watchdog);
        options.logger.info('stopped cleanly');
        exit(0);
      })
      .catch((error: unknown) => {
        clearTimeout(watchdog);
        options.logger.error({ err: error }, 'shutdown failed');
        exit(1);
      });
  };
  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}
