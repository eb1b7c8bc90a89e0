import type { Codec } from './codec.js';
import { checkedCodec, codecFor } from './codec.js';
import { JourneyRecord } from './journey.js';
import { wellFormedJourneyRecord } from './journey-record-check.js';
import type { Touchpoint } from './touchpoint.js';
import type {
  AlertEvent,
  AttributionCredit,
  ChurnScore,
  DeadLetter,
  FunnelEvent,
  SessionRecord,
  StageTransition,
} from './journey.js';

/**
 * Every Kafka topic of the pipeline, in one place. A deployment can prefix them all
 * (KAFKA_TOPIC_PREFIX) so several pipelines or test runs share one cluster.
 */
export const TOPIC_NAMES = {
  touchpoints: 'touchpoints',
  /**
   * Imported history (`npm run import`): the same records, keys and partition count as
   * `touchpoints`, in a lane of its own so that live traffic does not make it late
   * (docs/history-lane.md). Each import ends with a `history-end` marker on every partition.
   */
  touchpointsHistory: 'touchpoints-history',
  /** Identity links (id → parent id), compacted, ONE partition: a global table every instance reads whole. */
  identityLinks: 'identity-links',
  /** Touchpoints re-keyed by resolved customer id (the sessionizer's repartition topic; JourneyRecord). */
  identifiedTouchpoints: 'identified-touchpoints',
  /** Touchpoints attributed to customer and session (JourneyRecord, keyed by customer id). */
  customerTouchpoints: 'customer-touchpoints',
  sessions: 'sessions',
  stageTransitions: 'stage-transitions',
  funnelEvents: 'funnel-events',
  churnScores: 'churn-scores',
  churnAlerts: 'churn-alerts',
  /** Rule-based attribution rows, per conversion (AttributionCredit, keyed by customer id). */
  attribution: 'attribution',
  alerts: 'alerts',
  deadLetter: 'dead-letter',
  /** The journey step's state (sessions + journey per customer, merge bookkeeping), compacted. */
  journeyChangelog: 'journey-state-changelog',
  alerterChangelog: 'alerter-state-changelog',
  /**
   * Ids a deletion forgot (README: Privacy), compacted, ONE partition: key SHA-256 of the
   * namespaced id, value JSON ForgottenIdEntry. The collector's suppression list and the writer's
   * replay guard; read whole at start and followed.
   */
  forgottenIds: 'forgotten-ids',
} as const;
export type TopicKey = keyof typeof TOPIC_NAMES;

export type Topics = { readonly [K in TopicKey]: string };
export function topicsWithPrefix(prefix: string): Topics {
  const out = {} as Record<TopicKey, string>;
  for (const key of Object.keys(TOPIC_NAMES) as TopicKey[]) out[key] = `${prefix}${TOPIC_NAMES[key]}`;
  return out;
}

let journeyRecords: Codec<JourneyRecord> | null = null;
/** The customer-keyed topics' envelope, decoded only into a record that fits its kind (journey.ts). */
function journeyRecordCodec(): Codec<JourneyRecord> {
  journeyRecords ??= checkedCodec(codecFor<unknown>('journey-record'), JourneyRecord, wellFormedJourneyRecord);
  return journeyRecords;
}

/** Codecs of the topics whose values are Avro records. Changelogs are internal state (JSON). */
export const topicCodecs = {
  touchpoints: () => codecFor<Touchpoint>('touchpoint'),
  identifiedTouchpoints: () => journeyRecordCodec(),
  customerTouchpoints: () => journeyRecordCodec(),
  sessions: () => codecFor<SessionRecord>('session'),
  stageTransitions: () => codecFor<StageTransition>('stage-transition'),
  funnelEvents: () => codecFor<FunnelEvent>('funnel-event'),
  churnScores: () => codecFor<ChurnScore>('churn-score'),
  churnAlerts: () => codecFor<ChurnScore>('churn-score'),
  attribution: () => codecFor<AttributionCredit>('attribution-credit'),
  alerts: () => codecFor<AlertEvent>('alert'),
  deadLetter: () => codecFor<DeadLetter>('dead-letter'),
} satisfies Partial<Record<TopicKey, () => Codec<unknown>>>;
