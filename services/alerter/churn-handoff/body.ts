import type { ChurnScore, Stage } from '../../../schemas/journey.js';

/**
 * What a CRM or support tool receives for one churn alert (a score that crossed the threshold on
 * `churn-alerts`). Delivery is at-least-once, so a receiver drops repeats by `idempotencyKey`.
 */
export interface ChurnHandoffBody {
  readonly type: 'journey.churn.alert';
  /** The same for every delivery of the same crossing, also after a replay of the journey step. */
  readonly idempotencyKey: string;
  readonly customerId: string;
  /** Churn risk in [0, 1] and the BG/NBD P(alive) it came from. */
  readonly score: number;
  readonly pAlive: number;
  readonly reasons: readonly string[];
  readonly nextAction: string;
  readonly stage: Stage | null;
  /** Event time of the score, epoch ms and ISO 8601. */
  readonly at: number;
  readonly atIso: string;
  readonly summary: string;
}

/**
 * A crossing is identified by its customer and its event time: the journey step scores a customer
 * at most once per event time, and a replay of its input scores it at the same times.
 */
export const churnIdempotencyKey = (score: Pick<ChurnScore, 'customerId' | 'at'>): string => `churn:${score.customerId}:${score.at}`;

export function churnHandoffBody(score: ChurnScore): ChurnHandoffBody {
  const percent = Math.round(score.score * 100);
  const why = score.reasons.length > 0 ? ` (${score.reasons.join(', ')})` : '';
  return {
    type: 'journey.churn.alert',
    idempotencyKey: churnIdempotencyKey(score),
    customerId: score.customerId,
    score: score.score,
    pAlive: score.pAlive,
    reasons: score.reasons,
    nextAction: score.nextAction,
    stage: score.stage,
    at: score.at,
    atIso: new Date(score.at).toISOString(),
    summary: `Customer ${score.customerId} is at ${percent}% churn risk${why}; next action: ${score.nextAction}`,
  };
}
