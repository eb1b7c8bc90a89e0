import { z } from 'zod';
import { commonEnv, envBoolean, envInt } from '../platform/config/env.js';

export const SessionizerEnv = z.object({
  ...commonEnv,
  SESSIONIZER_GROUP_ID: z.string().min(1).default('journey-sessionizer'),
  SESSION_GAP_MINUTES: envInt(30, 1, 24 * 60),
  SESSION_MAX_HOURS: envInt(24, 1, 24 * 7),
  SESSION_GRACE_MINUTES: envInt(10, 0, 24 * 60),
  DEDUP_WINDOW_HOURS: envInt(24, 1, 24 * 7),
  /** Event time may trail wall-clock time by this much before idle partitions close sessions anyway. */
  SESSION_MAX_EVENT_LAG_MINUTES: envInt(5, 0, 24 * 60),
  IDENTITY_EMAIL_LINKS: envBoolean(true),
  /** A merge survivor holds its later records until the absorbed sessions arrive, at most this long. */
  SESSIONIZER_MERGE_WAIT_SECONDS: envInt(300, 1, 24 * 3600),
  STAGE_RULES_FILE: z.string().default('services/stages/rules/ecommerce.yaml'),
  SESSIONIZER_HTTP_PORT: envInt(8083, 0, 65_535),
  HTTP_HOST: z.string().default('127.0.0.1'),
});
export type SessionizerConfig = z.infer<typeof SessionizerEnv>;
