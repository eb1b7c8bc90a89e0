import { describe, expect, it } from 'vitest';
import type { ChurnScore } from '../../../schemas/journey.js';
import { churnHandoffBody, churnIdempotencyKey } from './body.js';

const score: ChurnScore = {
  customerId: 'cust-42',
  at: Date.UTC(2025, 4, 6, 12, 30),
  score: 0.8312,
  pAlive: 0.41,
  reasons: ['support complaint', 'failed payment'],
  nextAction: 'service-recovery outreach',
  stage: 'retention',
  crossedThreshold: true,
};

describe('churnHandoffBody', () => {
  it('carries the customer, score, reasons, next action, stage and event time', () => {
    expect(churnHandoffBody(score)).toEqual({
      type: 'journey.churn.alert',
      idempotencyKey: 'churn:cust-42:1746534600000',
      customerId: 'cust-42',
      score: 0.8312,
      pAlive: 0.41,
      reasons: ['support complaint', 'failed payment'],
      nextAction: 'service-recovery outreach',
      stage: 'retention',
      at: 1746534600000,
      atIso: '2025-05-06T12:30:00.000Z',
      summary: 'Customer cust-42 is at 83% churn risk (support complaint, failed payment); next action: service-recovery outreach',
    });
  });

  it('keys a crossing by customer and event time: the same record always, another crossing never', () => {
    expect(churnHandoffBody({ ...score, score: 0.9, reasons: [] }).idempotencyKey).toBe(churnIdempotencyKey(score));
    expect(churnIdempotencyKey({ ...score, at: score.at + 1 })).not.toBe(churnIdempotencyKey(score));
    expect(churnIdempotencyKey({ ...score, customerId: 'cust-43' })).not.toBe(churnIdempotencyKey(score));
  });

  it('survives JSON and reads without reasons', () => {
    const body = churnHandoffBody({ ...score, reasons: [], stage: null });
    expect(JSON.parse(JSON.stringify(body))).toEqual(body);
    expect(body.summary).toBe('Customer cust-42 is at 83% churn risk; next action: service-recovery outreach');
  });
});
