import type { ClickHouseSettings } from '@clickhouse/client';
import type { ClickHouse } from '../platform/clickhouse/client.js';
import type { QueryTimer } from './metrics.js';

export type QueryParams = Record<string, string | number | boolean | null | readonly (string | number)[]>;

/** Runs the API's fixed SQL with bound parameters against one database, timing each query. */
export interface QueryRunner {
  /** `sql` may name tables as `{db}.table`; values only ever travel as `{name:Type}` parameters. */
  rows<T>(endpoint: string, sql: string, params: QueryParams): Promise<T[]>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Settings for API reads. On a server, readonly = 2 makes every API query unable to write or change
 * DDL whatever its text (defence in depth behind parameter binding) while it may still set its own
 * query settings (readonly = 1 would refuse the customer lookups' `SETTINGS max_threads = 1`,
 * one-customer.ts); distributed_product_mode =
 * local keeps IN/JOIN subqueries shard-local (sound because tables are sharded by customer).
 * Embedded chdb applies clickhouse_settings as session-wide SET statements that outlive the query,
 * so readonly there would also lock out the writer sharing the engine: no settings in that mode.
 */
export function readSettings(mode: ClickHouse['mode']): ClickHouseSettings | undefined {
  if (mode === 'embedded') return undefined;
  return { readonly: '2', max_execution_time: 20, distributed_product_mode: 'local' };
}

export function createQueryRunner(ch: ClickHouse, timer: QueryTimer): QueryRunner {
  if (!IDENTIFIER.test(ch.database)) throw new Error(`invalid database name: ${JSON.stringify(ch.database)}`);
  const settings = readSettings(ch.mode);
  const client = ch.readClient ?? ch.client;
  return {
    async rows<T>(endpoint: string, sql: string, params: QueryParams): Promise<T[]> {
      const stop = timer(endpoint);
      try {
        const rs = await client.query({
          query: sql.replaceAll('{db}', ch.database),
          format: 'JSONEachRow',
          query_params: params,
          ...(settings ? { clickhouse_settings: settings } : {}),
        });
        const rows = await rs.json<T>();
        stop('ok');
        return rows;
      } catch (error) {
        stop('error');
        throw new UpstreamError(`ClickHouse query for ${endpoint} failed`, error);
      }
    },
  };
}

export class UpstreamError extends Error {
  readonly retriable = true;
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'UpstreamError';
  }
}
