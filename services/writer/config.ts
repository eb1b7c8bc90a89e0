import { z } from 'zod';
import { commonEnv, envInt } from '../platform/config/env.js';

export const WriterEnv = z.object({
  ...commonEnv,
  WRITER_GROUP_ID: z.string().min(1).default('journey-writer'),
  WRITER_MAX_BUFFER_ROWS: envInt(20_000, 1, 1_000_000),
  WRITER_MAX_ROWS_PER_INSERT: envInt(100_000, 1, 10_000_000),
  WRITER_FLUSH_INTERVAL_MS: envInt(200, 10, 60_000),
  TOUCHPOINT_TTL_DAYS: envInt(395, 1, 36_500),
  WRITER_HTTP_PORT: envInt(8082, 0, 65_535),
  HTTP_HOST: z.string().default('127.0.0.1'),
});
export type WriterConfig = z.infer<typeof WriterEnv>;
