import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export interface MigrationTarget {
  database: string;
  /** With a cluster: ON CLUSTER DDL, Replicated* engines and Distributed tables (see `renderStatement`). */
  cluster?: string | undefined;
  /** TTL of raw touchpoints, in days. */
  touchpointTtlDays: number;
}

/**
 * Migration files are `NNN_name.sql`, statements separated by lines holding only `;`-terminated SQL.
 * Placeholders (identifiers, never user input), rendered by `renderStatement`:
 * - {db}, {on_cluster}, {ttl_days};
 * - {local}: the suffix of storage tables, '' on a single node and '_local' on a cluster, where the
 *   unsuffixed name is a Distributed table over them (so readers and writers always use the plain name);
 * - {cluster}: the quoted cluster name (only meaningful in cluster-only statements);
 * - {cluster_only} at the start of a statement: the statement exists only on a cluster (the
 *   Distributed tables); on a single node it renders to '' and is skipped.
 */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_.+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      const statements = text
        .split(/;\s*$/m)
        .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
        .filter((s) => s.length > 0);
      return { version: Number(file.slice(0, 3)), name: file.slice(4, -4), statements };
    });
}

const ENGINE_PATTERN = /ENGINE\s*=\s*(ReplacingMergeTree|AggregatingMergeTree|SummingMergeTree|MergeTree)\s*(\(([^)]*)\))?/;

const CLUSTER_ONLY = '{cluster_only}';

/**
 * Renders a statement for a single node or, with a cluster, for Replicated engines ON CLUSTER with
 * Distributed tables over `*_local` storage. Returns '' for a cluster-only statement on a single node.
 */
export function renderStatement(sql: string, target: MigrationTarget): string {
  const trimmed = sql.trimStart();
  if (trimmed.startsWith(CLUSTER_ONLY)) {
    if (!target.cluster) return '';
    sql = trimmed.slice(CLUSTER_ONLY.length).trimStart();
  }
  let out = sql
    .replaceAll('{db}', target.database)
    .replaceAll('{on_cluster}', target.cluster ? `ON CLUSTER '${target.cluster}'` : '')
    .replaceAll('{cluster}', target.cluster ? `'${target.cluster}'` : "''")
    .replaceAll('{local}', target.cluster ? '_local' : '')
    .replaceAll('{ttl_days}', String(target.touchpointTtlDays));
  if (target.cluster) {
    out = out.replace(ENGINE_PATTERN, (_m, engine: string, _p, args: string | undefined) => {
      const replicationArgs = `'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'`;
      const rest = args && args.trim().length > 0 ? `, ${args.trim()}` : '';
      return `ENGINE = Replicated${engine}(${replicationArgs}${rest})`;
    });
  }
  return out;
}

export interface MigrationResult {
  applied: number[];
  skipped: number[];
}

/** Applies pending migrations in order and records each in `{db}.schema_migrations`. Idempotent. */
export async function migrate(
  client: ClickHouseClient,
  target: MigrationTarget,
  migrations: Migration[] = loadMigrations(),
): Promise<MigrationResult> {
  const onCluster = target.cluster ? ` ON CLUSTER '${target.cluster}'` : '';
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${target.database}${onCluster}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${target.database}.schema_migrations${onCluster}
      (version UInt32, name String, applied_at DateTime64(3) DEFAULT now64(3))
      ENGINE = ${target.cluster ? "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')" : 'ReplacingMergeTree'}
      ORDER BY version`,
  });
  const rs = await client.query({
    query: `SELECT DISTINCT version FROM ${target.database}.schema_migrations`,
    format: 'JSONEachRow',
  });
  const done = new Set((await rs.json<{ version: number }>()).map((r) => Number(r.version)));
  const result: MigrationResult = { applied: [], skipped: [] };
  for (const m of migrations) {
    if (done.has(m.version)) {
      result.skipped.push(m.version);
      continue;
    }
    for (const statement of m.statements) {
      const query = renderStatement(statement, target);
      if (query.length > 0) await client.command({ query });
    }
    await client.insert({
      table: `${target.database}.schema_migrations`,
      values: [{ version: m.version, name: m.name }],
      format: 'JSONEachRow',
    });
    result.applied.push(m.version);
  }
  return result;
}
