import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../platform/logging/logger.js';
import { chunkBlock } from './core/block-plan.js';
import { compactRows } from './core/compact-rows.js';
import { backoffMs } from '../platform/retry/backoff.js';
import { retry } from '../platform/retry/retry.js';
import { INSERT_BACKOFF, isDataError } from './core/insert-errors.js';

export interface PoisonRow {
  row: Record<string, unknown>;
  reason: string;
}

export interface BlockInserter {
  /**
   * Inserts rows with a deduplication token; resolves once ClickHouse acknowledged every row that
   * can be inserted, and returns the rows that never can (for the dead-letter topic).
   */
  insert(table: string, rows: Array<Record<string, unknown>>, token: string): Promise<PoisonRow[]>;
}

export interface InserterOptions {
  maxRowsPerInsert: number;
  /** While false the inserter retries for ever (back-pressure); once stopping, it gives up after this many attempts. */
  isStopping: () => boolean;
  attemptsWhenStopping: number;
  random: () => number;
  sleep: (ms: number) => Promise<void>;
  onRetry?: (table: string, attempt: number, error: unknown) => void;
}

/** Thrown when a block was not inserted and must not be committed (it will be replayed). */
export class InsertAbandonedError extends Error {
  readonly retriable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InsertAbandonedError';
  }
}

export function createClickHouseInserter(client: ClickHouseClient, options: InserterOptions, logger: Logger): BlockInserter {
  const columnsOf = new Map<string, Set<string>>();
  const tableColumns = async (table: string): Promise<Set<string>> => {
    const cached = columnsOf.get(table);
    if (cached) return cached;
    const rs = await client.query({ query: `DESCRIBE TABLE ${table}`, format: 'JSONEachRow' });
    const names = new Set((await rs.json<{ name: string }>()).map((c) => c.name));
    columnsOf.set(table, names);
    return names;
  };

  const insertOnce = async (table: string, rows: Array<Record<string, unknown>>, token: string) => {
    const { columns, values } = compactRows(rows, await tableColumns(table));
    if (columns.length === 0) throw Object.assign(new Error(`no column of ${table} in the rows`), { code: '117' });
    await client.insert({
      table,
      values,
      columns: columns.map((c) => `\`${c.replace(/`/g, '\\`')}\``) as [string, ...string[]],
      format: 'JSONCompactEachRow',
      clickhouse_settings: {
        insert_deduplicate: 1,
        insert_deduplication_token: token,
        // A retried block must not be counted again by materialized views either.
        deduplicate_blocks_in_dependent_materialized_views: 1,
        async_insert: 0,
      },
    });
  };

  const withRetry = (table: string, rows: Array<Record<string, unknown>>, token: string): Promise<void> =>
    retry(() => insertOnce(table, rows, token), {
      delayMs: ({ attempt, error }) => {
        if (isDataError(error)) return null;
        if (options.isStopping() && attempt + 1 >= options.attemptsWhenStopping) {
          throw new InsertAbandonedError(`insert into ${table} abandoned while stopping`, { cause: error });
        }
        options.onRetry?.(table, attempt, error);
        if (attempt % 10 === 0) logger.warn({ table, attempt, err: error }, 'insert failed, retrying');
        return backoffMs(attempt, INSERT_BACKOFF, options.random);
      },
      sleep: options.sleep,
    });

  /** Halves a block that ClickHouse rejects for its data until the bad rows are isolated. */
  const insertIsolatingPoison = async (
    table: string,
    rows: Array<Record<string, unknown>>,
    token: string,
  ): Promise<PoisonRow[]> => {
    try {
      await withRetry(table, rows, token);
      return [];
    } catch (error) {
      if (!isDataError(error)) throw error;
      if (rows.length === 1) return [{ row: rows[0]!, reason: `clickhouse rejected row: ${(error as Error).message.slice(0, 500)}` }];
      const mid = Math.ceil(rows.length / 2);
      return [
        ...(await insertIsolatingPoison(table, rows.slice(0, mid), `${token}/0`)),
        ...(await insertIsolatingPoison(table, rows.slice(mid), `${token}/1`)),
      ];
    }
  };

  return {
    async insert(table, rows, token) {
      const poison: PoisonRow[] = [];
      for (const chunk of chunkBlock(rows, token, options.maxRowsPerInsert)) {
        poison.push(...(await insertIsolatingPoison(table, chunk.rows, chunk.token)));
      }
      return poison;
    },
  };
}
