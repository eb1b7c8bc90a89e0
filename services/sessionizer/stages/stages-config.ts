import { z } from 'zod';
import { Stage } from '../../../schemas/journey.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

const durationMs = z.number().int().positive();
const weight = z.number().min(0).max(1);

/**
 * Tunables of the stages core. Every field has a default, so `StagesCoreConfig.parse({})` is a
 * working configuration; `main.ts` overlays what the deployment sets.
 */
export const StagesCoreConfig = z.strictObject({
  /** A move from stage i to i+1 within this long of entering i is a funnel conversion; past it, a dropoff. */
  conversionWindowMs: durationMs.default(7 * DAY_MS),
  /**
   * Regression of a customer who stopped engaging: after `afterMs` in a `from` stage without a
   * touchpoint classified at purchase or beyond, `tick` moves them to `to` (cause 'lapsed').
   */
  lapse: z
    .strictObject({
      afterMs: durationMs.default(90 * DAY_MS),
      from: z.array(Stage).default(['retention']),
      to: Stage.default('consideration'),
    })
    .prefault({}),
  churn: z
    .strictObject({
      /** `crossedThreshold` is set when the score reaches this from below since the last emitted score. */
      threshold: z.number().min(0).max(1).default(0.7),
      /** A new score is emitted when it moved at least this much, crossed the threshold or changed action. */
      minDelta: z.number().min(0).max(1).default(0.05),
      /** How often `tick` rescores a silent customer, because silence alone raises risk. */
      rescoreEveryMs: durationMs.default(DAY_MS),
      /** Silent customers are rescored for this long after their last activity, then left alone. */
      rescoreForMs: durationMs.default(180 * DAY_MS),
      /** Half-life of behaviour signals (complaints, failed payments...): old trouble counts less. */
      signalHalfLifeMs: durationMs.default(30 * DAY_MS),
      /** Half-life of the "still around" belief from activity recency alone. */
      silenceHalfLifeMs: durationMs.default(30 * DAY_MS),
      /** A cart with no order this long after the last add is abandoned. */
      cartAbandonAfterMs: durationMs.default(24 * HOUR_MS),
      /** A signal whose strength (0..1) reaches this is "active" for the playbook. */
      activeSignalAt: z.number().min(0).max(1).default(0.25),
      maxReasons: z.number().int().min(1).default(3),
      /**
       * How much each signal at full strength adds to the score. Contributions combine as a noisy-OR,
       * score = 1 − Π(1 − weight·strength): any one strong signal can raise risk on its own, the
       * score stays in [0, 1], and each contribution is readable as a reason.
       */
      weights: z
        .strictObject({
          lowPAlive: weight.default(1),
          silence: weight.default(0.5),
          complaint: weight.default(0.5),
          lowFeedback: weight.default(0.4),
          paymentFailed: weight.default(0.6),
          cancellationIntent: weight.default(0.6),
          cancelled: weight.default(0.95),
          fallingEngagement: weight.default(0.4),
          cartAbandoned: weight.default(0.2),
        })
        .prefault({}),
    })
    .prefault({}),
});
export type StagesCoreConfig = z.output<typeof StagesCoreConfig>;

export const defaultStagesCoreConfig = (): StagesCoreConfig => StagesCoreConfig.parse({});
