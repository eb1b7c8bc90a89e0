import { z } from 'zod';
import { commonEnv, envBoolean, envInt } from '../platform/config/env.js';
import { AlerterEnv } from '../alerter/config.js';
import { CollectorEnv } from '../collector/config.js';
import { QueryApiEnv } from '../query-api/config.js';
import { SessionizerEnv } from '../sessionizer/config.js';
import { SimulatorEnv } from '../simulator/config.js';
import { WriterEnv } from '../writer/config.js';

/**
 * `npm start`: every service in one process (the embedded ClickHouse allows one owner per data dir).
 * Its settings are every service's own schema, so a variable means in `npm start` what it means to
 * that service alone, with the same default; only the settings below are its own, or differ.
 */
export const LocalEnv = z.object({
  ...CollectorEnv.shape,
  ...SessionizerEnv.shape,
  ...WriterEnv.shape,
  ...QueryApiEnv.shape,
  ...AlerterEnv.shape,
  ...SimulatorEnv.shape,
  /** Unset: start (or reuse) the local broker with infra/kafka/broker.sh. */
  KAFKA_BROKERS: commonEnv.KAFKA_BROKERS.optional(),
  /** Demo traffic: the simulator (SIMULATOR_RATE, SIMULATOR_SEED, ...) through this process's collector. */
  DEMO: envBoolean(true),
  /** The demo's journeys are compressed in time (see the file). */
  SIMULATOR_CONFIG_FILE: z.string().default('services/local/demo-simulator.yaml'),
  PROGRESS_EVERY_MS: envInt(5_000, 0, 3_600_000),
  /** The demo shows every feature: attribution on (the sessionizer alone defaults to off, for its cost). */
  ATTRIBUTION_ENABLED: envBoolean(true),
});
export type LocalConfig = z.infer<typeof LocalEnv>;

