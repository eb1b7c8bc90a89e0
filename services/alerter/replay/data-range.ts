import type { ClickHouse } from '../../platform/clickhouse/client.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Event time of the first touchpoint and just after the last one, [from, to); null when there are none. */
export async function touchpointTimeRange(clickhouse: ClickHouse): Promise<{ from: number; to: number; touchpoints: number } | null> {
  if (!IDENTIFIER.test(clickhouse.database)) throw new Error(`invalid database name: ${JSON.stringify(clickhouse.database)}`);
  const rs = await clickhouse.client.query({
    query: `SELECT toUnixTimestamp64Milli(min(ts)) AS first, toUnixTimestamp64Milli(max(ts)) AS last, count() AS n FROM ${clickhouse.database}.touchpoints`,
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ first: number | string; last: number | string; n: number | string }>();
  if (row === undefined || Number(row.n) === 0) return null;
  return { from: Number(row.first), to: Number(row.last) + 1, touchpoints: Number(row.n) };
}
