import type { ClickHouseClient } from '@clickhouse/client';
import { crc32 } from 'node:zlib';

/** The sampling rule, the same in JS and ClickHouse: CRC32 (IEEE) of the messageId's UTF-8 bytes. */
export function isSampled(messageId: string, every: number): boolean {
  return crc32(messageId) % every === 0;
}

/**
 * Sees sampled events become queryable in ClickHouse: each poll reads only the parts of
 * `touchpoints` it has not read yet (a part never changes; new rows arrive as new parts, and a merge
 * makes a new part, read once more), and returns the sampled rows in them (CRC32(message_id) %
 * every = 0) plus each part's first row, so it knows which parts it read. An event is found by the
 * first poll whose snapshot holds it, whenever the bench learns of the event, so no row that
 * becomes visible late is skipped. A poll costs one small query whatever the table's size.
 */
export function createFreshnessPoller(client: ClickHouseClient, database: string, every: number) {
  /** Parts read already (only active ones are kept; inactive parts are never read again). */
  let read = new Set<string>();
  /** Sampled messageId → its received_at (of the row ClickHouse holds) and when a poll first returned it. */
  let found = new Map<string, { receivedAt: number; foundAt: number }>();
  let pollMs: number[] = [];
  let partsRead = 0;
  let rowsReturned = 0;
  let prunedAt = 0;
  const activeParts = async () =>
    (
      await (
        await client.query({
          query: 'SELECT name FROM system.parts WHERE database = {db:String} AND table = {table:String} AND active',
          query_params: { db: database, table: 'touchpoints' },
          format: 'JSONEachRow',
        })
      ).json<{ name: string }>()
    ).map((p) => p.name);

  return {
    /** Starts a phase: every part that exists now counts as read (the phase's events are not in them). */
    async startPhase() {
      read = new Set(await activeParts());
      prunedAt = Date.now();
      found = new Map();
      pollMs = [];
      partsRead = 0;
      rowsReturned = 0;
    },
    async poll() {
      const started = Date.now();
      if (started - prunedAt > 5_000) {
        const active = new Set(await activeParts());
        read = new Set([...read].filter((p) => active.has(p)));
        prunedAt = started;
      }
      const rows = await (
        await client.query({
          query: `SELECT _part AS p, message_id AS id, toUnixTimestamp64Milli(received_at) AS r, CRC32(message_id) % {every:UInt32} = 0 AS s
            FROM ${database}.touchpoints WHERE _part NOT IN {read:Array(String)} AND (CRC32(message_id) % {every:UInt32} = 0 OR _part_offset = 0)`,
          query_params: { read: [...read], every },
          format: 'JSONEachRow',
        })
      ).json<{ p: string; id: string; r: number | string; s: number | boolean }>();
      const now = Date.now();
      pollMs.push(now - started);
      rowsReturned += rows.length;
      for (const row of rows) {
        if (!read.has(row.p)) {
          read.add(row.p);
          partsRead++;
        }
        if (Number(row.s) === 1 && !found.has(row.id)) found.set(row.id, { receivedAt: Number(row.r), foundAt: now });
      }
    },
    found: () => found,
    stats: () => ({ polls: pollMs.length, partsRead, rowsReturned, pollMs }),
  };
}
