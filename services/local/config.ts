import { z } from 'zod';
import { commonEnv, envBoolean, envInt } from '../platform/config/env.js';

/** `npm start`: every service in one process (the embedded ClickHouse allows one owner per data dir). */
export const LocalEnv = z.object({
  ...commonEnv,
  /** Unset: start (or reuse) the local broker with infra/kafka/broker.sh. */
  KAFKA_BROKERS_EXTERNAL: z.string().optional(),
  COLLECTOR_HTTP_PORT: envInt(8080, 0, 65_535),
  QUERY_API_HTTP_PORT: envInt(8081, 0, 65_535),
  HTTP_HOST: z.string().default('127.0.0.1'),
  DEMO: envBoolean(true),
  /** Simulated touchpoints per second sent through the collector. */
  DEMO_RATE: envInt(300, 1, 1_000_000),
  DEMO_SEED: envInt(42, 0, 2 ** 31),
  PROGRESS_EVERY_MS: envInt(5_000, 0, 3_600_000),
  STAGE_RULES_FILE: z.string().default('services/sessionizer/rules/ecommerce.yaml'),
  /** At most ~68 years: received_at + TTL must stay inside DateTime (2106), or ClickHouse drops every row at insert. */
  TOUCHPOINT_TTL_DAYS: envInt(395, 1, 25_000),
});
export type LocalConfig = z.infer<typeof LocalEnv>;
