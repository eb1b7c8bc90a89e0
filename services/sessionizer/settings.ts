import type { SessionizerConfig } from './config.js';
import { mergeWaitLimits } from '../platform/streams/merge-barrier.js';
import { DEFAULT_ATTRIBUTION_OPTIONS, type AttributionOptions } from './attribution/attribution-partition.js';
import { checkEvictionLimits } from './idle-eviction.js';
import { RECENT_ID_BYTES } from './core/customer-bounds.js';
import type { SessionizerServiceDeps } from './service.js';
import { stageClassifierFromFile } from './stage-classifier.js';
import { loadStagesOptions } from './stages-options.js';

const MINUTE = 60_000;
const DAY_MS = 86_400_000;

/**
 * The session rules (README: Sessions), stage rules and churn model (README: Stage rules) from the
 * environment; the rule files are read here, once, and any problem stops the start.
 */
export function sessionSettings(
  config: SessionizerConfig,
): Pick<SessionizerServiceDeps, 'sessions' | 'maxEventLagMs' | 'linkOptions' | 'mergeWait' | 'bounds' | 'stages' | 'tickLimit' | 'stageOf' | 'stateFlushIntervalMs' | 'stateFlushMaxCustomers' | 'sessionOutputIntervalMs' | 'attribution' | 'eviction' | 'historyMaxHeldEvents'> {
  const stages = loadStagesOptions(config);
  const attribution = attributionOptions(config);
  return {
    stageOf: stageClassifierFromFile(config.STAGE_RULES_FILE),
    stages,
    tickLimit: config.STAGES_TICK_LIMIT,
    attribution,
    eviction: checkEvictionLimits(
      { customerIdleMs: config.SESSIONIZER_EVICT_IDLE_DAYS * DAY_MS, mergeLedgerIdleMs: config.SESSIONIZER_EVICT_MERGE_LEDGER_DAYS * DAY_MS },
      stages.config,
      attribution,
    ),
    historyMaxHeldEvents: config.SESSIONIZER_HISTORY_MAX_HELD_EVENTS === 0 ? Infinity : config.SESSIONIZER_HISTORY_MAX_HELD_EVENTS,
    stateFlushIntervalMs: config.SESSIONIZER_STATE_FLUSH_MS,
    stateFlushMaxCustomers: config.SESSIONIZER_STATE_FLUSH_MAX_CUSTOMERS,
    sessionOutputIntervalMs: config.SESSIONIZER_SESSION_OUTPUT_MS,
    sessions: {
      inactivityGapMs: config.SESSION_GAP_MINUTES * MINUTE,
      maxSessionMs: config.SESSION_MAX_HOURS * 60 * MINUTE,
      graceMs: config.SESSION_GRACE_MINUTES * MINUTE,
      dedupWindowMs: config.DEDUP_WINDOW_HOURS * 60 * MINUTE,
    },
    maxEventLagMs: config.SESSION_MAX_EVENT_LAG_MINUTES * MINUTE,
    linkOptions: { emailLinks: config.IDENTITY_EMAIL_LINKS },
    mergeWait: mergeWaitLimits(config.SESSIONIZER_MERGE_WAIT_SECONDS, config.SESSIONIZER_MERGE_WAIT_MAX_HELD_KB * 1024),
    bounds: {
      maxRecentIds: (config.SESSIONIZER_MAX_DEDUP_KB * 1024) / RECENT_ID_BYTES,
      maxOpenEvents: config.SESSIONIZER_MAX_OPEN_EVENTS,
      maxStateBytes: config.SESSIONIZER_MAX_CUSTOMER_STATE_KB * 1024,
    },
  };
}

/** Rule-based attribution from the environment, or null when it is off. */
function attributionOptions(config: SessionizerConfig): AttributionOptions | null {
  return config.ATTRIBUTION_ENABLED
    ? {
        ...DEFAULT_ATTRIBUTION_OPTIONS,
        lookbackMs: config.ATTRIBUTION_LOOKBACK_DAYS * DAY_MS,
        correctionMs: config.ATTRIBUTION_LOOKBACK_DAYS * DAY_MS,
        halfLifeMs: config.ATTRIBUTION_HALF_LIFE_DAYS * DAY_MS,
        conversionEvents: config.ATTRIBUTION_CONVERSION_EVENTS,
        conversionStages: config.ATTRIBUTION_CONVERSION_STAGES,
        ignoredChannels: config.ATTRIBUTION_IGNORED_CHANNELS,
        maxTouches: config.ATTRIBUTION_MAX_TOUCHES,
      }
    : null;
}
