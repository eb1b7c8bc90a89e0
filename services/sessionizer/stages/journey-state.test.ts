import { describe, expect, it } from 'vitest';
import { copyJourney, JourneyStateSchema, newJourneyState } from './journey-state.js';

describe('copyJourney', () => {
  it('copies every field of JourneyState into a new object', () => {
    const state = { ...newJourneyState('c-1', 'a-1'), stage: 'purchase' as const, enteredAt: 5, journeyNumber: 1, entered: true, opened: true };
    const copy = copyJourney(state);
    expect(copy).not.toBe(state);
    expect(copy).toEqual(state);
    // Written field by field: a field added to the schema and not to the copy would be lost here.
    expect(Object.keys(copy).sort()).toEqual(Object.keys(JourneyStateSchema.shape).sort());
  });
});
