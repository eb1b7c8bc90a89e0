import { z } from 'zod';
import { commonEnv, envInt, envList } from '../platform/config/env.js';

export const QueryApiEnv = z.object({
  ...commonEnv,
  /** Against a server, the API logs in as a read-only user (README: ClickHouse users). */
  QUERY_API_CLICKHOUSE_USER: z.string().optional(),
  QUERY_API_CLICKHOUSE_PASSWORD: z.string().optional(),
  QUERY_API_HTTP_PORT: envInt(8081, 0, 65_535),
  QUERY_API_CORS_ORIGINS: envList([]),
  /**
   * API keys (README: API keys). Unset: no key is asked for, which only a loopback HTTP_HOST
   * allows; `npm start` then generates a local key in DATA_DIR.
   */
  QUERY_API_KEYS_FILE: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v)),
  HTTP_HOST: z.string().default('127.0.0.1'),
});
export type QueryApiConfig = z.infer<typeof QueryApiEnv>;
