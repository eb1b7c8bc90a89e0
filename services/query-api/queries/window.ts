import type { Window } from '../params.js';
import type { QueryParams } from '../runner.js';

/** The minutes of funnel_minute that overlap [from, to). */
export const MINUTE_WINDOW = `minute >= toStartOfMinute(fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC'))
  AND minute < fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')`;

/** Raw rows with `column` in [from, to). */
export const atWindow = (column: string): string =>
  `${column} >= fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC') AND ${column} < fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')`;

export const windowParams = (w: Window): QueryParams => ({ fromMs: w.fromMs, toMs: w.toMs });

export const iso = (ms: number): string => new Date(ms).toISOString();

/** Raw funnel_events rows in the same minutes as MINUTE_WINDOW, so raw and per-minute reads agree. */
export const FUNNEL_AT_WINDOW = `at >= toStartOfMinute(fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC'))
  AND toStartOfMinute(at) < fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')`;
