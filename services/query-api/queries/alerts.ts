import { and } from '../filters.js';
import type { Window } from '../params.js';
import type { QueryRunner } from '../runner.js';
import { iso, windowParams } from './window.js';
import type { AlertRow } from '../../platform/clickhouse/rows.js';

export interface Alert {
  alertId: string;
  monitor: string;
  status: 'firing' | 'resolved';
  since: string;
  /** The newest event's time: the resolution time for a resolved alert. */
  at: string;
  resolvedAt: string | null;
  site: string;
  step: string;
  baselineRate: number;
  observedRate: number;
  dropPct: number;
  statistic: number;
  breakdownHint: string | null;
  dashboardUrl: string;
}

export interface AlertsResult {
  from: string;
  to: string;
  firing: number;
  alerts: Alert[];
}

/** The alerts table's row (rows.ts owns the columns), with its times read back as epoch ms. */
type Row = Omit<AlertRow, 'at' | 'since' | 'status'> & {
  status: 'firing' | 'resolved';
  since_ms: string | number;
  at_ms: string | number;
};

export const MAX_ALERTS = 500;

/** Alerts whose firing interval [since, resolution or now) overlaps the window, newest first. */
export async function alerts(
  db: QueryRunner,
  w: Window,
  status?: 'firing' | 'resolved',
  site?: string,
): Promise<AlertsResult> {
  const conditions = [
    "since < fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')",
    "(status = 'firing' OR at >= fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC'))",
  ];
  if (status) conditions.push('status = {status:String}');
  if (site !== undefined) conditions.push('site = {site:String}');
  const rows = await db.rows<Row>(
    'alerts',
    `SELECT alert_id, monitor, status, toUnixTimestamp64Milli(since) AS since_ms, toUnixTimestamp64Milli(at) AS at_ms,
  site, step, baseline_rate, observed_rate, drop_pct, statistic, breakdown_hint, dashboard_url
FROM {db}.alerts FINAL
WHERE ${and(conditions)}
ORDER BY since DESC, alert_id
LIMIT ${MAX_ALERTS}`,
    { ...windowParams(w), ...(status ? { status } : {}), ...(site === undefined ? {} : { site }) },
  );
  const list = rows.map((r): Alert => {
    const at = iso(Number(r.at_ms));
    return {
      alertId: r.alert_id,
      monitor: r.monitor,
      status: r.status,
      since: iso(Number(r.since_ms)),
      at,
      resolvedAt: r.status === 'resolved' ? at : null,
      site: r.site,
      step: r.step,
      baselineRate: r.baseline_rate,
      observedRate: r.observed_rate,
      dropPct: r.drop_pct,
      statistic: r.statistic,
      breakdownHint: r.breakdown_hint,
      dashboardUrl: r.dashboard_url,
    };
  });
  return { from: iso(w.fromMs), to: iso(w.toMs), firing: list.filter((a) => a.status === 'firing').length, alerts: list };
}
