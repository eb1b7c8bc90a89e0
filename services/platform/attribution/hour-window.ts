/** One UTC hour in milliseconds: the unit of attribution periods. */
export const HOUR_MS = 3_600_000;

/**
 * The whole UTC hours covering [fromMs, toMs): `fromMs` down and `toMs` up to an hour. Attribution
 * is read by the hour of conversion (migration 030, attribution_hourly), so the API answers, and
 * `npm run attribution` stores runs for, hour-aligned periods only; the response says which.
 */
export function hourWindow(w: { fromMs: number; toMs: number }): { fromMs: number; toMs: number } {
  const fromMs = Math.floor(w.fromMs / HOUR_MS) * HOUR_MS;
  return { fromMs, toMs: Math.max(fromMs + HOUR_MS, Math.ceil(w.toMs / HOUR_MS) * HOUR_MS) };
}
