import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STAGES, stageRank } from '../../../schemas/journey.js';
import { deriveAccountStage } from './account-stage.js';

describe('deriveAccountStage', () => {
  it('is the furthest stage any member is in', () => {
    expect(deriveAccountStage(['awareness', 'consideration', 'awareness'])).toBe('consideration');
    expect(deriveAccountStage(['awareness', 'purchase'])).toBe('purchase');
    expect(deriveAccountStage(['consideration', 'retention', 'advocacy'])).toBe('advocacy');
  });

  it('is at purchase or beyond only while some member is', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...STAGES)), (members) => {
        const account = deriveAccountStage(members);
        const anyCustomer = members.some((s) => stageRank(s) >= stageRank('purchase'));
        expect(account !== null && stageRank(account) >= stageRank('purchase')).toBe(anyCustomer);
      }),
    );
  });

  it('follows a lapsed member back only when nobody else is further', () => {
    expect(deriveAccountStage(['consideration', 'awareness'])).toBe('consideration');
    expect(deriveAccountStage(['consideration', 'retention'])).toBe('retention');
  });

  it('has no stage without members', () => {
    expect(deriveAccountStage([])).toBeNull();
  });
});
