/**
 * The markers `npm run import` writes around an import on `touchpoints-history`
 * (docs/history-lane.md), one on every partition each: `begin` before its first touchpoint, with
 * the earliest event time of its first chunk, and `end` after its last chunk was acknowledged. Not
 * Touchpoints: the header says which, the value (JSON) carries the time. The router passes each on
 * to every journey partition: a begin opens the partition's history source at that time (the
 * journey step's clock goes back to it, and waits for every history source to say where it
 * stands), an end closes it (the clock goes on with the live sources').
 */
export const HISTORY_MARKER_HEADER = 'jp-history';
export const HISTORY_MARKER_KEY = '@history';

/** Which `npm run import` run wrote a begin: what a second import's refusal names (services/collector/import/lane.ts). */
export interface ImportRun {
  id: string;
  host: string;
  startedAt: number;
  files: string[];
}

/** `run`: absent in begins written before 2026-12-07 (the router reads only the time). */
export type HistoryMarker = { kind: 'begin'; firstEventTime: number; run?: ImportRun } | { kind: 'end' };

export const historyMarkerValue = (marker: HistoryMarker): Buffer => Buffer.from(JSON.stringify(marker));

/**
 * The import marker a record of `touchpoints-history` is (by its header), or null: a touchpoint,
 * or a marker this version cannot read (it then fails to decode as a touchpoint and is dead-lettered).
 */
export function historyMarkerOf(message: { headers?: Record<string, unknown>; value: Buffer | null }): HistoryMarker | null {
  const header = message.headers?.[HISTORY_MARKER_HEADER];
  if (header === undefined) return null;
  const kind = String(header);
  if (kind === 'end') return { kind: 'end' };
  if (kind !== 'begin') return null;
  try {
    const { firstEventTime, run } = JSON.parse(message.value?.toString('utf8') ?? '') as { firstEventTime?: unknown; run?: unknown };
    if (typeof firstEventTime !== 'number' || !Number.isFinite(firstEventTime)) return null;
    return isImportRun(run) ? { kind: 'begin', firstEventTime, run } : { kind: 'begin', firstEventTime };
  } catch {
    return null;
  }
}

function isImportRun(v: unknown): v is ImportRun {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.id === 'string' && typeof r.host === 'string' && typeof r.startedAt === 'number' && Array.isArray(r.files) && r.files.every((f) => typeof f === 'string');
}
