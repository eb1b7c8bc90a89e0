import './kafkajs-patches.js';
import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Logger } from '../logging/logger.js';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A kafkajs client whose logs go through pino (structured, one line per entry). */
export function createKafka(options: { brokers: string[]; clientId: string; logger: Logger }): Kafka {
  const log = options.logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    // Reconnect for ever with a capped backoff: a broker restart must never kill a service.
    retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: Number.MAX_SAFE_INTEGER },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, timestamp: _t, logger: _l, ...rest } = entry as Record<string, unknown>;
        // kafkajs logs every retried protocol error ("Response ListOffsets ... not the leader") at
        // ERROR although it retries them; they are noise unless retries run out (then callers throw).
        const retried = level === logLevel.ERROR && String(message).startsWith('Response ');
        log[retried ? 'debug' : (LEVELS[level] ?? 'info')](rest, String(message));
      },
  });
}
