import { z } from 'zod';
import { STAGES } from '../../../schemas/journey.js';
import { envList, envListOrNone } from '../config/env.js';
import { DEFAULT_CONVERSION_EVENTS } from './journey-paths.js';

/**
 * Which touchpoints are conversions, the same two settings for the journey step (sessionizer) and
 * the Markov run (README: Attribution): a touchpoint is a conversion when its event is one of
 * ATTRIBUTION_CONVERSION_EVENTS, or when it made the customer enter one of
 * ATTRIBUTION_CONVERSION_STAGES (a stage the stage rules name, e.g. `purchase`: the touchpoint a
 * rule moved into that stage). `none` empties the event list, so that only stage entries count.
 */
export const conversionEnv = {
  ATTRIBUTION_CONVERSION_EVENTS: envListOrNone([...DEFAULT_CONVERSION_EVENTS]),
  ATTRIBUTION_CONVERSION_STAGES: envList([]).refine((l) => l.every((s) => (STAGES as readonly string[]).includes(s)), {
    message: `expected a comma-separated list of stages among ${STAGES.join(', ')}`,
  }),
};
