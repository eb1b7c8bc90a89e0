import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { commonEnv, ConfigError, envInt } from '../platform/config/env.js';
import { SimulatorConfig } from './core/config.js';

export const SimulatorEnv = z.object({
  ...commonEnv,
  /** http: through the collector (default, what SDKs do); kafka: straight to the touchpoints topic. */
  SIMULATOR_TARGET: z.enum(['http', 'kafka']).default('http'),
  COLLECTOR_URL: z.string().url().default('http://127.0.0.1:8080'),
  COLLECTOR_SOURCES_FILE: z.string().default('services/collector/sources.local.yaml'),
  /** realtime: the target rate in wall-clock time; max: as fast as the target takes them. */
  SIMULATOR_MODE: z.enum(['realtime', 'max']).default('realtime'),
  SIMULATOR_RATE: envInt(300, 1, 10_000_000),
  SIMULATOR_SEED: envInt(42, 0, 2 ** 32 - 1),
  /** Stop after this many journeys (0 = never). */
  SIMULATOR_MAX_JOURNEYS: envInt(0, 0, 1e9),
  /** Optional YAML/JSON with any part of the simulator config (personas, rates, incidents). */
  SIMULATOR_CONFIG_FILE: z.string().optional(),
  SIMULATOR_BATCH_SIZE: envInt(100, 1, 2_500),
  SIMULATOR_CONCURRENCY: envInt(8, 1, 1_000),
});
export type SimulatorEnvConfig = z.infer<typeof SimulatorEnv>;

/** The simulator's config: the file's content (if any) with seed and rate from the environment. */
export function simulatorConfigFrom(env: SimulatorEnvConfig): SimulatorConfig {
  let overlay: Record<string, unknown> = {};
  if (env.SIMULATOR_CONFIG_FILE) {
    try {
      overlay = (parseYaml(readFileSync(env.SIMULATOR_CONFIG_FILE, 'utf8')) ?? {}) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError([`SIMULATOR_CONFIG_FILE ${env.SIMULATOR_CONFIG_FILE}: ${(error as Error).message}`]);
    }
  }
  const arrival = { ...((overlay.arrival as object | undefined) ?? {}), callsPerSecond: env.SIMULATOR_RATE };
  const parsed = SimulatorConfig.safeParse({ ...overlay, seed: env.SIMULATOR_SEED, arrival });
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `SIMULATOR_CONFIG_FILE ${i.path.join('.')}: ${i.message}`));
  return parsed.data;
}
