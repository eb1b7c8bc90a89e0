import type { SessionizerConfig } from './config.js';
import { mergeWaitLimits } from '../platform/streams/merge-barrier.js';
import type { SessionizerServiceDeps } from './service.js';

const MINUTE = 60_000;

/** The session rules from the environment (README: Sessions). */
export function sessionSettings(config: SessionizerConfig): Pick<SessionizerServiceDeps, 'sessions' | 'maxEventLagMs' | 'linkOptions' | 'mergeWait'> {
  return {
    sessions: {
      inactivityGapMs: config.SESSION_GAP_MINUTES * MINUTE,
      maxSessionMs: config.SESSION_MAX_HOURS * 60 * MINUTE,
      graceMs: config.SESSION_GRACE_MINUTES * MINUTE,
      dedupWindowMs: config.DEDUP_WINDOW_HOURS * 60 * MINUTE,
    },
    maxEventLagMs: config.SESSION_MAX_EVENT_LAG_MINUTES * MINUTE,
    linkOptions: { emailLinks: config.IDENTITY_EMAIL_LINKS },
    mergeWait: mergeWaitLimits(config.SESSIONIZER_MERGE_WAIT_SECONDS),
  };
}
