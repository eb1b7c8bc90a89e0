/**
 * CPU per row of one ClickHouse insert, by input format, through @clickhouse/client on the embedded
 * engine (chdb, in this process): encoding in JS + parsing and writing in ClickHouse. A measurement
 * for docs/performance.md, not a test.
 *
 *   npx tsx services/writer/bench/format-cpu.ts [rowsPerInsert=10000] [inserts=10]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createClickHouse } from '../../platform/clickhouse/client.js';
import { migrate } from '../../platform/clickhouse/migrate.js';
import { touchpointRow, type TouchpointRow } from '../../platform/clickhouse/rows.js';
import { benchTouchpoint } from './bench-touchpoint.js';

const [rowsArg = '10000', insertsArg = '10'] = process.argv.slice(2);
const perInsert = Number(rowsArg);
const inserts = Number(insertsArg);
const base = Date.now() - 86_400_000;

function row(i: number): TouchpointRow {
  return touchpointRow({
    customerId: `u:c${i % 5_000}`,
    accountId: null,
    sessionId: `s${Math.floor(i / 8)}`,
    late: false,
    touchpoint: benchTouchpoint(i, base, { productId: `p${i % 300}`, price: 49.9, currency: 'EUR', category: 'shoes', note: 'tab\there "quoted"' }),
  });
}

const tsvEscape = (v: unknown): string => {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return String(v);
  return String(v).replace(/[\\\t\n]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : '\\n'));
};

type Variant = { name: string; insert: (rows: TouchpointRow[], token: string) => Promise<unknown> };

const dataDir = mkdtempSync(join(tmpdir(), 'format-cpu-'));
const ch = createClickHouse({ database: 'journey', dataDir });
await migrate(ch.client, { database: 'journey', touchpointTtlDays: 395 });
const settings = (token: string) => ({ insert_deduplicate: 1 as const, insert_deduplication_token: token, async_insert: 0 as const });
const table = 'journey.touchpoints';
const variants: Variant[] = [
  {
    name: 'JSONEachRow (objects)',
    insert: (rows, token) => ch.client.insert({ table, values: rows, format: 'JSONEachRow', clickhouse_settings: { ...settings(token), input_format_skip_unknown_fields: 1 } }),
  },
  {
    name: 'JSONCompactEachRow (arrays, column list)',
    insert: (rows, token) => {
      const columns = Object.keys(rows[0]!) as Array<keyof TouchpointRow>;
      const values = rows.map((r) => columns.map((c) => r[c]));
      return ch.client.insert({ table, values, columns: columns as [string, ...string[]], format: 'JSONCompactEachRow', clickhouse_settings: settings(token) });
    },
  },
  {
    name: 'TabSeparated (hand-encoded stream)',
    insert: (rows, token) => {
      const columns = Object.keys(rows[0]!) as Array<keyof TouchpointRow>;
      const body = rows.map((r) => columns.map((c) => tsvEscape(r[c])).join('\t')).join('\n') + '\n';
      return ch.client.insert({ table, values: Readable.from([Buffer.from(body)], { objectMode: false }), columns: columns as [string, ...string[]], format: 'TabSeparated', clickhouse_settings: settings(token) });
    },
  },
];

const results: Record<string, number> = {};
let n = 0;
for (let round = 0; round < 2; round++) {
  for (const v of variants) {
    const batches = Array.from({ length: inserts }, () => Array.from({ length: perInsert }, () => row(n++)));
    const cpu0 = process.cpuUsage();
    for (const [i, rows] of batches.entries()) await v.insert(rows, `${v.name}:${round}:${i}`);
    const cpu = process.cpuUsage(cpu0);
    // The second round counts (the first warms up JIT and the engine).
    if (round === 1) results[v.name] = Math.round(((cpu.user + cpu.system) / (inserts * perInsert)) * 10) / 10;
  }
}
const rs = await ch.client.query({ query: `SELECT count() c FROM ${table}`, format: 'JSONEachRow' });
const stored = Number((await rs.json<{ c: string }>())[0]!.c);
console.log(JSON.stringify({ rowsPerInsert: perInsert, inserts, cpuMicrosPerRow: results, storedRows: stored, expectedRows: n }));
await ch.close();
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
