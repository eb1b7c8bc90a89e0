import type { ClickHouseClient } from '@clickhouse/client';
import type { MigrationTarget } from './migrate.js';

/**
 * Retention per table (README: Privacy; docs/clickhouse.md): `CLICKHOUSE_TTL_DAYS`, e.g.
 * `touchpoints=90,sessions=90,funnel_minute=0`, sets how long each listed table keeps a row, by
 * the time column below; 0 keeps rows for ever. Tables not listed keep their migration's TTL.
 * Raw data (touchpoints, sessions) can so be kept shorter than the aggregates built from it.
 */
export const RETENTION_COLUMNS = {
  touchpoints: 'ts',
  touchpoints_by_customer: 'ts',
  customer_id_links: 'last_seen',
  sessions: 'ended_at',
  sessions_by_customer: 'ended_at',
  stage_transitions: 'at',
  stage_transitions_by_customer: 'at',
  funnel_events: 'at',
  funnel_minute: 'minute',
  churn_scores: 'at',
  churn_score_history: 'at',
  customer_activity_weekly: 'week',
  attribution: 'converted_at',
  alerts: 'at',
  dead_letters: 'at',
} as const;
export type RetentionTable = keyof typeof RETENTION_COLUMNS;
export type Retention = ReadonlyMap<RetentionTable, number>;

/**
 * Tables kept as copies of another for per-customer reads (migration 032): unless listed themselves,
 * they keep rows as long as their source does, so a customer's timeline never outlives (nor loses
 * before) the touchpoints it shows.
 */
const COPIES: ReadonlyArray<readonly [RetentionTable, readonly RetentionTable[]]> = [
  ['touchpoints', ['touchpoints_by_customer', 'customer_id_links']],
  ['sessions', ['sessions_by_customer']],
  ['stage_transitions', ['stage_transitions_by_customer']],
];

/** DateTime ends in 2106: a row's time + TTL must stay inside it, or ClickHouse drops the row at insert. */
const MAX_DAYS = 25_000;

/** `table=days,...` → a map; throws an Error naming the bad part. */
export function parseRetention(spec: string): Retention {
  const out = new Map<RetentionTable, number>();
  for (const part of spec.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const match = /^([a-z_]+)\s*=\s*(\d+)$/.exec(part);
    if (!match) throw new Error(`"${part}" is not table=days`);
    const [, table, days] = match;
    if (!(table! in RETENTION_COLUMNS)) throw new Error(`"${table}" has no retention setting (one of: ${Object.keys(RETENTION_COLUMNS).join(', ')})`);
    const n = Number(days);
    if (n > MAX_DAYS) throw new Error(`${table}: ${n} days is over ${MAX_DAYS}`);
    out.set(table as RetentionTable, n);
  }
  const listed = new Set(out.keys());
  for (const [source, copies] of COPIES) {
    const days = out.get(source);
    if (days !== undefined) for (const copy of copies) if (!listed.has(copy)) out.set(copy, days);
  }
  return out;
}

/** The storage table's name: on a cluster the `_local` tables hold the rows and the TTL. */
const storageTable = (table: RetentionTable, target: MigrationTarget) => `${target.database}.${table}${target.cluster ? '_local' : ''}`;

/** The statement that gives `table` this retention (REMOVE TTL for 0). */
export function retentionStatement(table: RetentionTable, days: number, target: MigrationTarget): string {
  const onCluster = target.cluster ? ` ON CLUSTER '${target.cluster}'` : '';
  const column = RETENTION_COLUMNS[table];
  return days === 0
    ? `ALTER TABLE ${storageTable(table, target)}${onCluster} REMOVE TTL`
    : `ALTER TABLE ${storageTable(table, target)}${onCluster} MODIFY TTL toDateTime(${column}) + toIntervalDay(${days})`;
}

/**
 * Whether a table's `engine_full` (system.tables) already says this retention, so a start that
 * changes nothing rewrites no part (a MODIFY TTL materializes the new TTL on every part).
 */
export function hasRetention(engineFull: string, table: RetentionTable, days: number): boolean {
  const ttl = /\bTTL\s+(.*?)(?:\s+SETTINGS\b|$)/s.exec(engineFull)?.[1]?.trim();
  if (days === 0) return ttl === undefined;
  if (ttl === undefined) return false;
  const column = RETENTION_COLUMNS[table];
  return ttl.replace(/\s+/g, '') === `toDateTime(${column})+toIntervalDay(${days})`;
}

/** Applies every listed table's retention that differs from what the table has; returns the tables changed. */
export async function applyRetention(client: ClickHouseClient, target: MigrationTarget, retention: Retention): Promise<RetentionTable[]> {
  const changed: RetentionTable[] = [];
  for (const [table, days] of retention) {
    const result = await client.query({
      query: 'SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {name:String}',
      query_params: { db: target.database, name: `${table}${target.cluster ? '_local' : ''}` },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ engine_full: string }>();
    if (!row) throw new Error(`retention: table ${target.database}.${table} does not exist`);
    if (hasRetention(row.engine_full, table, days)) continue;
    await client.command({ query: retentionStatement(table, days, target) });
    changed.push(table);
  }
  return changed;
}
