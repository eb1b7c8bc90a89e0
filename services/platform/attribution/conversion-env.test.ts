import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseEnv } from '../config/env.js';
import { conversionEnv } from './conversion-env.js';

describe('which touchpoints are conversions (ATTRIBUTION_CONVERSION_EVENTS, ATTRIBUTION_CONVERSION_STAGES)', () => {
  // The sessionizer's and the Markov run's schemas both spread these two settings.
  const schema = z.object(conversionEnv);
  it('the events by default and no stage; stages given, `none` leaves only them; an unknown stage is refused by name', () => {
    expect(parseEnv(schema, {})).toMatchObject({ ATTRIBUTION_CONVERSION_EVENTS: ['Order Completed', 'Contract Signed'], ATTRIBUTION_CONVERSION_STAGES: [] });
    expect(parseEnv(schema, { ATTRIBUTION_CONVERSION_EVENTS: 'none', ATTRIBUTION_CONVERSION_STAGES: 'purchase, retention' })).toMatchObject({
      ATTRIBUTION_CONVERSION_EVENTS: [],
      ATTRIBUTION_CONVERSION_STAGES: ['purchase', 'retention'],
    });
    expect(parseEnv(schema, { ATTRIBUTION_CONVERSION_EVENTS: 'Trial Started,Order Completed' })).toMatchObject({ ATTRIBUTION_CONVERSION_EVENTS: ['Trial Started', 'Order Completed'] });
    expect(() => parseEnv(schema, { ATTRIBUTION_CONVERSION_STAGES: 'purchase,checkout' })).toThrow(/ATTRIBUTION_CONVERSION_STAGES.*stages among awareness/s);
  });
});
