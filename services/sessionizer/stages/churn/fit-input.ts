import type { BgNbdObservation } from './bgnbd.js';

/**
 * Turns purchase data into BG/NBD observations (x, t_x, T) in a time unit of `timeUnitDays`.
 * Purchases on the same UTC day count once, as in the journey state and in the CDNOW summary, so
 * the fitted parameters and the scores computed from state speak about the same thing.
 */

const DAY_MS = 86_400_000;

/** One customer as the lead's ClickHouse query returns it. `purchases` must count distinct UTC purchase days. */
export interface PurchaseSummaryRow {
  customer_id: string;
  first_purchase: number | string;
  last_purchase: number | string;
  purchases: number | string;
  observed_until: number | string;
}

/**
 * Epoch ms from a number, a numeric string (ClickHouse quotes 64-bit ints in JSON) or a date-time
 * string. ClickHouse's 'YYYY-MM-DD hh:mm:ss[.fff]' carries no zone and is UTC here; read naively,
 * JavaScript would take it as local time.
 */
export function toEpochMs(v: number | string): number {
  if (typeof v === 'number') return v;
  const s = v.trim();
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  const iso = s.includes('T') ? s : s.replace(' ', 'T');
  const zoned = /(Z|[+-]\d\d:?\d\d)$/.test(iso) ? iso : `${iso}Z`;
  const ms = Date.parse(zoned);
  if (Number.isNaN(ms)) throw new RangeError(`not a timestamp: '${v}'`);
  return ms;
}

/** From a customer's purchase timestamps; null when none falls at or before `observedUntil`. */
export function observationFromTimestamps(timestamps: readonly number[], observedUntil: number, timeUnitDays: number): BgNbdObservation | null {
  const unit = timeUnitDays * DAY_MS;
  const inPeriod = timestamps.filter((t) => t <= observedUntil).sort((a, b) => a - b);
  const first = inPeriod[0];
  const last = inPeriod[inPeriod.length - 1];
  if (first === undefined || last === undefined) return null;
  const days = new Set(inPeriod.map((t) => Math.floor(t / DAY_MS)));
  const x = days.size - 1;
  return { x, tx: x === 0 ? 0 : (last - first) / unit, T: (observedUntil - first) / unit };
}

/** From one summary row; throws a RangeError naming the customer when the row is inconsistent. */
export function observationFromRow(row: PurchaseSummaryRow, timeUnitDays: number): BgNbdObservation {
  const first = toEpochMs(row.first_purchase);
  const last = toEpochMs(row.last_purchase);
  const until = toEpochMs(row.observed_until);
  const purchases = Number(row.purchases);
  const bad = (why: string) => new RangeError(`customer ${row.customer_id}: ${why}`);
  if (!Number.isInteger(purchases) || purchases < 1) throw bad(`purchases must be a positive integer, got ${row.purchases}`);
  if (last < first) throw bad('last_purchase is before first_purchase');
  if (until < last) throw bad('observed_until is before last_purchase');
  const unit = timeUnitDays * DAY_MS;
  const x = purchases - 1;
  return { x, tx: x === 0 ? 0 : (last - first) / unit, T: (until - first) / unit };
}

export interface FitInput {
  observations: BgNbdObservation[];
  skipped: { customerId: string; reason: string }[];
}

/** All rows; inconsistent ones are skipped with their reason rather than failing the whole fit. */
export function observationsFromRows(rows: Iterable<PurchaseSummaryRow>, timeUnitDays: number): FitInput {
  const out: FitInput = { observations: [], skipped: [] };
  for (const row of rows) {
    try {
      out.observations.push(observationFromRow(row, timeUnitDays));
    } catch (e) {
      out.skipped.push({ customerId: row.customer_id, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}

/** One customer id's purchases as the refit query returns them (services/sessionizer/refit-bgnbd.ts). */
export interface PurchaseDaysRow {
  customer_id: string;
  first_purchase: number | string;
  last_purchase: number | string;
  /** The distinct UTC days with a purchase, in any one representation (e.g. 'YYYY-MM-DD'). */
  purchase_days: readonly (number | string)[];
  observed_until: number | string;
}

/**
 * One summary row per customer as they are now: the rows of ids merged since (identity stitching)
 * are combined under `resolve(id)`: the first and last purchase are the extremes, and a day with a
 * purchase under two of the ids counts once.
 */
export function summariesByCustomer(rows: Iterable<PurchaseDaysRow>, resolve: (customerId: string) => string): PurchaseSummaryRow[] {
  const merged = new Map<string, { first: number; last: number; days: Set<string>; until: number }>();
  for (const row of rows) {
    const id = resolve(row.customer_id);
    const first = toEpochMs(row.first_purchase);
    const last = toEpochMs(row.last_purchase);
    const until = toEpochMs(row.observed_until);
    const m = merged.get(id);
    if (m === undefined) merged.set(id, { first, last, days: new Set(row.purchase_days.map(String)), until });
    else {
      m.first = Math.min(m.first, first);
      m.last = Math.max(m.last, last);
      m.until = Math.max(m.until, until);
      for (const d of row.purchase_days) m.days.add(String(d));
    }
  }
  return [...merged].map(([customer_id, m]) => ({ customer_id, first_purchase: m.first, last_purchase: m.last, purchases: m.days.size, observed_until: m.until }));
}
