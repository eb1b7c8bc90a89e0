import type { QueryRunner } from '../runner.js';
import { rate } from '../filters.js';

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

/** Monday 00:00 UTC of the ISO week holding `ms`. */
export function mondayOf(ms: number): number {
  const day = Math.floor(ms / DAY_MS);
  const weekday = (day + 3) % 7; // 1970-01-01 was a Thursday: Monday = 0
  return (day - weekday) * DAY_MS;
}

const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export interface RetentionWeek {
  /** Weeks since the cohort's first purchase (0 = that week). */
  week: number;
  active: number;
  purchasing: number;
  activeRate: number | null;
  purchasingRate: number | null;
}

export interface Cohort {
  /** Monday of the week of the customers' first purchase. */
  cohort: string;
  customers: number;
  retention: RetentionWeek[];
}

export interface CohortsResult {
  weeks: number;
  site: string | null;
  cohorts: Cohort[];
}

interface Row {
  cohort: string;
  week_offset: number;
  active: string | number;
  purchasing: string | number;
}

/**
 * Weekly cohort retention: a cohort is the week of a customer's first purchase (over all history, so
 * older buyers never join a later cohort); week N counts the cohort's customers active (any
 * touchpoint) and purchasing in the N-th week after. Read from cohort_retention, the snapshot of that
 * question over customer_activity_weekly for every cohort and week (migration 023, refreshed every
 * 5 minutes): this call only picks the cohorts since `weeks` ago and the weeks up to this one.
 */
export async function cohorts(db: QueryRunner, now: number, weeks: number, site?: string): Promise<CohortsResult> {
  const thisWeek = mondayOf(now);
  const since = thisWeek - (weeks - 1) * WEEK_MS;
  const rows = await db.rows<Row>(
    'cohorts',
    `SELECT toString(r.cohort) AS cohort, toUInt32(dateDiff('week', r.cohort, r.week)) AS week_offset,
  sum(r.active) AS active, sum(r.purchasing) AS purchasing
FROM {db}.cohort_retention AS r
WHERE r.all_sites = {allSites:Bool} AND r.site = {site:String} AND r.cohort >= {since:Date} AND r.week <= {thisWeek:Date}
GROUP BY r.cohort, week_offset
ORDER BY cohort, week_offset`,
    { since: isoDate(since), thisWeek: isoDate(thisWeek), allSites: site === undefined, site: site ?? '' },
  );
  const result: Cohort[] = [];
  for (let start = since; start <= thisWeek; start += WEEK_MS) {
    const cohort = isoDate(start);
    const mine = rows.filter((r) => r.cohort === cohort);
    const customers = Number(mine.find((r) => Number(r.week_offset) === 0)?.active ?? 0);
    const retention: RetentionWeek[] = [];
    for (let week = 0; start + week * WEEK_MS <= thisWeek; week++) {
      const r = mine.find((x) => Number(x.week_offset) === week);
      const active = Number(r?.active ?? 0);
      const purchasing = Number(r?.purchasing ?? 0);
      retention.push({ week, active, purchasing, activeRate: rate(active, customers), purchasingRate: rate(purchasing, customers) });
    }
    result.push({ cohort, customers, retention });
  }
  return { weeks, site: site ?? null, cohorts: result };
}
