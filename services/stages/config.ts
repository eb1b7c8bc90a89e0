import { z } from 'zod';
import { commonEnv, envInt } from '../platform/config/env.js';

export const StagesEnv = z.object({
  ...commonEnv,
  STAGES_GROUP_ID: z.string().min(1).default('journey-stages'),
  /** Which touchpoints signal which stage (README: Stage rules). B2B: services/stages/rules/b2b-saas.yaml. */
  STAGE_RULES_FILE: z.string().default('services/stages/rules/ecommerce.yaml'),
  CHURN_PLAYBOOK_FILE: z.string().default('services/stages/rules/churn-playbook.yaml'),
  /** Written by `npm run fit-churn`; the default holds the CDNOW estimates. */
  BGNBD_PARAMS_FILE: z.string().default('services/stages/rules/bgnbd-params.json'),
  /** Optional YAML/JSON overlay of every tunable in core/stages-config.ts. */
  STAGES_CONFIG_FILE: z.string().optional(),
  CONVERSION_WINDOW_DAYS: envInt(7, 1, 365),
  CHURN_THRESHOLD_PERCENT: envInt(70, 1, 100),
  STAGES_TICK_LIMIT: envInt(5_000, 1, 1_000_000),
  /** A merge survivor holds its later records until the absorbed journey arrives, at most this long. */
  STAGES_MERGE_WAIT_SECONDS: envInt(300, 1, 24 * 3600),
  STAGES_HTTP_PORT: envInt(8084, 0, 65_535),
  HTTP_HOST: z.string().default('127.0.0.1'),
});
export type StagesConfig = z.infer<typeof StagesEnv>;
