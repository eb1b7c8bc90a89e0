import { z } from 'zod';
import { commonEnv, envInt, envList } from '../platform/config/env.js';
import { conversionEnv } from '../platform/attribution/conversion-env.js';
import { DEFAULT_IGNORED_CHANNELS, DEFAULT_MAX_PATH_TOUCHES } from '../platform/attribution/journey-paths.js';

/** `npm run attribution`: the Markov attribution run (README: Attribution). */
export const AttributionEnv = z.object({
  ...commonEnv,
  /** Which touchpoints are conversions: events and stage entries. */
  ...conversionEnv,
  /** Channels that are not touches (in-site navigation, server calls). */
  ATTRIBUTION_IGNORED_CHANNELS: envList([...DEFAULT_IGNORED_CHANNELS]),
  /** Distinct paths a run reads, the most frequent first (the rest are counted, not used). */
  ATTRIBUTION_MAX_PATHS: envInt(1_000_000, 1, 10_000_000),
  /** Touches kept per path, the latest. */
  ATTRIBUTION_MAX_PATH_TOUCHES: envInt(DEFAULT_MAX_PATH_TOUCHES, 1, 1_000),
});
export type AttributionConfig = z.infer<typeof AttributionEnv>;
