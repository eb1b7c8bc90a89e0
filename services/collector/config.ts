import { z } from 'zod';
import { commonEnv, envInt } from '../platform/config/env.js';

/**
 * A few ms of linger: kafkajs' idempotent producer has about one produce in flight, so without it
 * every HTTP request would pay its own broker round trip, one after another.
 */
export const DEFAULT_LINGER_MS = 5;

export const CollectorEnv = z.object({
  ...commonEnv,
  /** YAML/JSON list of sources (write keys). The default file holds the local demo keys only. */
  COLLECTOR_SOURCES_FILE: z.string().default('services/collector/sources.local.yaml'),
  COLLECTOR_HTTP_PORT: envInt(8080, 0, 65_535),
  COLLECTOR_SEND_TIMEOUT_MS: envInt(10_000, 100, 120_000),
  COLLECTOR_MAX_IN_FLIGHT_EVENTS: envInt(200_000, 100, 10_000_000),
  COLLECTOR_MAX_IN_FLIGHT_BYTES: envInt(64 * 1024 * 1024, 1024 * 1024, 4 * 1024 * 1024 * 1024),
  /** How long a request's events wait to share a produce request with other requests' events. */
  COLLECTOR_LINGER_MS: envInt(DEFAULT_LINGER_MS, 0, 1_000),
  HTTP_HOST: z.string().default('127.0.0.1'),
});
export type CollectorConfig = z.infer<typeof CollectorEnv>;
