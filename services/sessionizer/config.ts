import { z } from 'zod';
import { commonEnv, envBoolean, envInt, envList } from '../platform/config/env.js';
import { conversionEnv } from '../platform/attribution/conversion-env.js';

export const SessionizerEnv = z.object({
  ...commonEnv,
  SESSIONIZER_GROUP_ID: z.string().min(1).default('journey-sessionizer'),
  SESSION_GAP_MINUTES: envInt(30, 1, 24 * 60),
  SESSION_MAX_HOURS: envInt(24, 1, 24 * 7),
  SESSION_GRACE_MINUTES: envInt(10, 0, 24 * 60),
  DEDUP_WINDOW_HOURS: envInt(24, 1, 24 * 7),
  /** Event time may trail wall-clock time by this much before idle partitions close sessions anyway. */
  SESSION_MAX_EVENT_LAG_MINUTES: envInt(5, 0, 24 * 60),
  IDENTITY_EMAIL_LINKS: envBoolean(true),
  /** A merge survivor holds its later records until the absorbed customer's state arrives, at most this long. */
  SESSIONIZER_MERGE_WAIT_SECONDS: envInt(300, 1, 24 * 3600),
  /** Which touchpoints signal which stage (README: Stage rules). B2B: services/sessionizer/rules/b2b-saas.yaml. */
  STAGE_RULES_FILE: z.string().default('services/sessionizer/rules/ecommerce.yaml'),
  CHURN_PLAYBOOK_FILE: z.string().default('services/sessionizer/rules/churn-playbook.yaml'),
  /** Written by `npm run fit-churn`; the default holds the CDNOW estimates. */
  BGNBD_PARAMS_FILE: z.string().default('services/sessionizer/rules/bgnbd-params.json'),
  /** Optional YAML/JSON overlay of every tunable in stages/stages-config.ts. */
  STAGES_CONFIG_FILE: z.string().optional(),
  CONVERSION_WINDOW_DAYS: envInt(7, 1, 365),
  CHURN_THRESHOLD_PERCENT: envInt(70, 1, 100),
  /**
   * The journey step writes its changed state to the changelog at most this often per partition
   * (a customer changed many times in between is written once); a crash replays what came after.
   * 15 s: at live rates most active customers send several events within it, so the changelog
   * carries about half the values a 5 s interval did (docs/performance.md, "Flush interval"); Kafka
   * Streams commits every 30 s. A partition whose input stops flushes after a quiet second instead
   * (stateful-handler.ts), so a drain or a deletion does not wait for the interval.
   */
  SESSIONIZER_STATE_FLUSH_MS: envInt(15_000, 0, 60_000),
  /**
   * ...or once this many customers changed in a partition. A flush larger than one produce
   * request goes as several appends, the applied-offset marker last (README: Effectively once).
   * 20,000: large enough that the interval, not the cap, decides at 5,000 events/s over four
   * partitions; a flush of that many is ~16 MB (~20 appends).
   */
  SESSIONIZER_STATE_FLUSH_MAX_CUSTOMERS: envInt(20_000, 1, 100_000),
  /**
   * A session's versions go to `sessions` at most this often per partition (the newest of each
   * session since the last time, and always before a state flush): a session that takes an event
   * every second is one row a second instead of one per event. 0 (the default): every version as it
   * happens. Off by default: the 1M fault runs with 1 s found session rows that stopped short of the
   * clean run's (docs/performance.md), not explained yet.
   */
  SESSIONIZER_SESSION_OUTPUT_MS: envInt(0, 0, 60_000),
  /**
   * Per-customer state bounds (README: Known limits). Recent messageIds kept for de-duplication
   * (16 bytes each; the earliest go first): 64 KiB = 4,096 ids.
   */
  SESSIONIZER_MAX_DEDUP_KB: envInt(64, 1, 256),
  /** Events of a customer's open sessions kept one by one (older ones are folded into the session summary early). */
  SESSIONIZER_MAX_OPEN_EVENTS: envInt(512, 16, 100_000),
  /** A customer's changelog value (and merge transfer) at most this big; over it the sessions part is trimmed. */
  SESSIONIZER_MAX_CUSTOMER_STATE_KB: envInt(256, 16, 512),
  /**
   * A customer with no event for this many days of EVENT time (the partition's watermark, never the
   * wall clock) leaves memory and the changelog (a tombstone); its next event starts from scratch
   * (README: Known limits). Must be longer than the longest journey window (churn rescoring, 180
   * days by default; checked at start). 400: a customer who buys once a year keeps its history.
   */
  SESSIONIZER_EVICT_IDLE_DAYS: envInt(400, 2, 3_650),
  /**
   * Merge-ledger entries (forwards of a merged-away id, transfers already imported) leave this many
   * days of event time after their merge: they matter only while routers and replays may still
   * use the absorbed id, which takes seconds to hours.
   */
  SESSIONIZER_EVICT_MERGE_LEDGER_DAYS: envInt(30, 1, 3_650),
  /**
   * Events a journey partition may keep one by one beyond what it kept when an open import began
   * there (docs/history-lane.md, "The cap"), while the import holds its clock behind the live
   * sources'; one more demotes the import (the clock goes on with the live sources, the rest of the
   * import is processed as late events are). Counted from the begin because live traffic alone
   * keeps its visits' events until their sessions close (its rate × gap + grace: 600,000 per
   * partition at 1,000 events/s over four). What an event held adds to the heap: 27–193 B
   * (measured in process, journey state included; 180–440 B per live event in all): 500,000 is
   * 13–97 MB per partition, and at that rate about half an hour of import. 0: no cap.
   */
  SESSIONIZER_HISTORY_MAX_HELD_EVENTS: envInt(500_000, 0, 100_000_000),
  /** Bytes of records a merge survivor may hold while it waits (its changelog value is 4/3 of this). */
  SESSIONIZER_MERGE_WAIT_MAX_HELD_KB: envInt(256, 16, 384),
  /**
   * Rule-based attribution per conversion in the journey step (README: Attribution). Off unless
   * asked for: the issue allows it 10% more journey-step CPU per event, and side by side with it off
   * (the journey bench's paired mode, 200 k events) it measured +11.4% on a quiet machine (six pairs,
   * +10.0 to +12.9%) with customers' touch lists held decoded, and +8.6% with them held packed
   * (attribution-partition.ts; nine pairs under load 2–52, +4.9 to +13.5%, two over 10%): under
   * the 10% on average, not on every pair (docs/performance.md: Attribution held packed). `npm
   * start` turns it on for the demo.
   */
  ATTRIBUTION_ENABLED: envBoolean(false),
  /** A conversion's touches: those at most this long before it (both edges inclusive). */
  ATTRIBUTION_LOOKBACK_DAYS: envInt(30, 1, 365),
  /** Time decay: a touch this long before the conversion weighs half as much as one at it. */
  ATTRIBUTION_HALF_LIFE_DAYS: envInt(7, 1, 365),
  /** Which touchpoints are conversions: events and stage entries (the same settings as `npm run attribution`'s). */
  ...conversionEnv,
  /** Channels that are not touches (in-site navigation, server calls). */
  ATTRIBUTION_IGNORED_CHANNELS: envList(['web', 'other']),
  /** Touches kept per customer (the latest; README: Known limits). */
  ATTRIBUTION_MAX_TOUCHES: envInt(64, 8, 100),
  /** Bounds the time-driven stage work (drop-offs, lapses, rescoring) of one tick per partition. */
  STAGES_TICK_LIMIT: envInt(5_000, 1, 1_000_000),
  /**
   * Where each instance keeps the identity graph (README: Known limits, "The identity graph").
   * memory: every id in the heap, read whole from the local copy and the topic at start. lmdb: an
   * LMDB store in DATA_DIR/state, pointers on disk behind a cache of SESSIONIZER_IDENTITY_CACHE_IDS
   * ids, committed with the topic offset it covers, so a restart reads only the topic's tail.
   */
  // memory is the default: lmdb's apply of identity-links takes 2.2–2.5 times its CPU (the bar for
  // switching was 2; docs/performance.md, "Identity deletions in proportion to the customer").
  SESSIONIZER_IDENTITY_STORE: z.enum(['memory', 'lmdb']).default('memory'),
  /** Ids the lmdb store keeps decoded in memory (about 200 bytes each; the least recently used go). */
  SESSIONIZER_IDENTITY_CACHE_IDS: envInt(100_000, 1_000, 10_000_000),
  SESSIONIZER_HTTP_PORT: envInt(8083, 0, 65_535),
  HTTP_HOST: z.string().default('127.0.0.1'),
});
export type SessionizerConfig = z.infer<typeof SessionizerEnv>;
