/**
 * Where the embedded ClickHouse's CPU goes per written row: each table's insert, each materialized
 * view it fires, the merges of what was inserted, and one refresh of each refreshable view. Not a
 * test: a measurement for docs/performance.md, on a copy of a run's data (an e2e bench leaves its
 * engine's files in /tmp/journey-bench-*; copy that directory first, chdb allows one owner).
 *
 *   npx tsx services/writer/bench/clickhouse-cost.ts <copied data dir> [rows per insert = 500] [inserts = 20]
 *
 * Inserts re-send rows read back from each table (the writer's format, JSONCompactEachRow, with the
 * writer's settings but no deduplication, so a repeat is written again), one at a time, with merges
 * and refreshes stopped, and count the process's CPU (process.cpuUsage(): chdb's threads included).
 * Then each view the table feeds is dropped in turn and the inserts are measured again: the difference
 * is that view's share. Then merges are started and their CPU counted until no merge runs. Finally
 * each refreshable view is refreshed three times (median CPU per refresh), at the copy's data size.
 * The copy is changed (views dropped, rows added): throw it away afterwards.
 */
import { createClickHouse } from '../../platform/clickhouse/client.js';

const [dataDir, rowsArg = '500', insertsArg = '20'] = process.argv.slice(2);
if (!dataDir) {
  process.stderr.write('usage: clickhouse-cost.ts <copied data dir> [rows per insert] [inserts]\n');
  process.exit(2);
}
const rowsPerInsert = Number(rowsArg);
/** Extra settings for every measured insert (COST_INSERT_SETTINGS='{"name":value}'), to try one. */
const extraSettings = JSON.parse(process.env.COST_INSERT_SETTINGS ?? '{}') as Record<string, unknown>;
/** Only these tables (COST_TABLES=touchpoints,sessions); all when unset. */
const onlyTables = process.env.COST_TABLES?.split(',').filter(Boolean);
const inserts = Number(insertsArg);
const ch = createClickHouse({ database: 'journey', dataDir });
const client = ch.client;
const db = 'journey';

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const rowsOf = async <T>(query: string): Promise<T[]> => (await client.query({ query, format: 'JSONEachRow' })).json<T>();

/** The writer's tables, as routes.ts names them, with the rows each holds. */
const tables = ['touchpoints', 'sessions', 'stage_transitions', 'funnel_events', 'churn_scores', 'attribution', 'alerts', 'dead_letters'];

/** Plain (not refreshable) materialized views and the table each reads. */
async function viewsOf(table: string): Promise<string[]> {
  const rows = await rowsOf<{ name: string; q: string }>(
    `SELECT name, as_select AS q FROM system.tables WHERE database = '${db}' AND engine = 'MaterializedView' AND create_table_query NOT LIKE '%REFRESH%'`,
  );
  const re = new RegExp(`FROM ${db}\\.${table}(\\s|$|\\))`);
  return rows.filter((r) => re.test(r.q)).map((r) => r.name);
}

async function sampleRows(table: string, n: number): Promise<{ columns: string[]; values: unknown[][] }> {
  const cols = (await rowsOf<{ name: string; default_type: string }>(`DESCRIBE TABLE ${db}.${table}`)).filter((c) => c.default_type === '' || c.default_type === 'DEFAULT').map((c) => c.name);
  const rs = await client.query({ query: `SELECT ${cols.map((c) => `\`${c}\``).join(', ')} FROM ${db}.${table} LIMIT ${n}`, format: 'JSONCompactEachRow' });
  const values = await rs.json<unknown[]>();
  return { columns: cols, values: values as unknown as unknown[][] };
}

/** CPU ms of `inserts` inserts of `rowsPerInsert` rows each, one at a time. */
async function insertCost(table: string, sample: { columns: string[]; values: unknown[][] }): Promise<number> {
  const start = cpuMs();
  for (let i = 0; i < inserts; i++) {
    const from = (i * rowsPerInsert) % Math.max(1, sample.values.length - rowsPerInsert + 1);
    await client.insert({
      table: `${db}.${table}`,
      values: sample.values.slice(from, from + rowsPerInsert),
      columns: sample.columns.map((c) => `\`${c}\``) as [string, ...string[]],
      format: 'JSONCompactEachRow',
      clickhouse_settings: { insert_deduplicate: 0, deduplicate_blocks_in_dependent_materialized_views: 1, async_insert: 0, ...extraSettings },
    });
  }
  return cpuMs() - start;
}

async function mergesSettled(): Promise<void> {
  for (let quiet = 0; quiet < 3; ) {
    await new Promise((r) => setTimeout(r, 500));
    const [m] = await rowsOf<{ n: string }>(`SELECT count() AS n FROM system.merges`);
    quiet = Number(m!.n) === 0 ? quiet + 1 : 0;
  }
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const out: Record<string, unknown> = { rowsPerInsert, inserts, extraSettings };

await client.command({ query: 'SYSTEM STOP VIEWS' });
await client.command({ query: 'SYSTEM STOP MERGES' });
const counts = Object.fromEntries(await Promise.all(tables.map(async (t) => [t, Number((await rowsOf<{ c: string }>(`SELECT count() AS c FROM ${db}.${t}`))[0]!.c)] as const)));
out.rowsInCopy = counts;

const perTable: Record<string, unknown> = {};
const mergeBefore = cpuMs();
for (const table of tables) {
  if ((counts[table] ?? 0) < rowsPerInsert || (onlyTables && !onlyTables.includes(table))) continue;
  const sample = await sampleRows(table, rowsPerInsert * Math.min(inserts, 10));
  await insertCost(table, sample); // warm-up: column lists, caches
  const views = await viewsOf(table);
  const all = await insertCost(table, sample);
  const row: Record<string, number> = { cpuMicrosPerRowWithViews: round((all * 1000) / (inserts * rowsPerInsert)) };
  let previous = all;
  for (const view of views) {
    await client.command({ query: `DROP VIEW ${db}.${view}` });
    const without = await insertCost(table, sample);
    row[`view ${view}`] = round(((previous - without) * 1000) / (inserts * rowsPerInsert));
    previous = without;
  }
  row.cpuMicrosPerRowTableAlone = round((previous * 1000) / (inserts * rowsPerInsert));
  perTable[table] = row;
  process.stderr.write(`[clickhouse-cost] ${table} ${JSON.stringify(row)}\n`);
}
out.insertCpuMicrosPerRow = perTable;
void mergeBefore;

const m0 = cpuMs();
await client.command({ query: 'SYSTEM START MERGES' });
await mergesSettled();
out.mergeCpuMsAfterInserts = Math.round(cpuMs() - m0);

const refreshable = await rowsOf<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${db}' AND engine = 'MaterializedView' AND create_table_query LIKE '%REFRESH%'`);
const refreshes: Record<string, number> = {};
for (const { name } of refreshable) {
  await client.command({ query: `SYSTEM START VIEW ${db}.${name}` });
  const costs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const c0 = cpuMs();
    await client.command({ query: `SYSTEM REFRESH VIEW ${db}.${name}` });
    await client.command({ query: `SYSTEM WAIT VIEW ${db}.${name}` });
    costs.push(cpuMs() - c0);
  }
  await client.command({ query: `SYSTEM STOP VIEW ${db}.${name}` });
  refreshes[name] = round(costs.sort((x, y) => x - y)[1]!);
  process.stderr.write(`[clickhouse-cost] refresh ${name}: ${refreshes[name]} ms CPU\n`);
}
out.refreshCpuMsEach = refreshes;
await ch.close();
console.log(JSON.stringify(out, null, 1));
process.exit(0);
