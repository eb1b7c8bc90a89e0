import { hourWindow } from '../platform/attribution/hour-window.js';

const DATE_OR_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** An ISO-8601 date or date-time; without a zone it is UTC (never the host's zone). */
export function parseInstant(name: string, text: string | undefined): number {
  if (text === undefined) throw new Error(`--${name} is required`);
  const m = DATE_OR_TIME.exec(text);
  const ms = m === null ? NaN : Date.parse(text.length > 10 && m[1] === undefined ? `${text.replace(' ', 'T')}Z` : text.replace(' ', 'T'));
  if (!Number.isFinite(ms)) throw new Error(`--${name}: expected an ISO-8601 date or date-time, got ${JSON.stringify(text)}`);
  return ms;
}

/**
 * The run's period [from, to), widened to whole UTC hours (hourWindow): /api/attribution answers
 * whole hours and finds a stored run by its exact period.
 */
export function parsePeriod(from: string | undefined, to: string | undefined): { fromMs: number; toMs: number } {
  const fromMs = parseInstant('from', from);
  const toMs = parseInstant('to', to);
  if (fromMs >= toMs) throw new Error('--from must be before --to');
  return hourWindow({ fromMs, toMs });
}
