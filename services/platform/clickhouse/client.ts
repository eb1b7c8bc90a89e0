import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { Component } from '../runtime/component.js';

export interface ClickHouseConnectionConfig {
  /** A ClickHouse server's HTTP URL. Unset: the embedded engine (chdb) on `${dataDir}/clickhouse`. */
  url?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  database: string;
  dataDir: string;
  requestTimeoutMs?: number;
}

export type ClickHouseMode = 'server' | 'embedded';

export interface ClickHouse {
  readonly client: ClickHouseClient;
  /**
   * For queries that only read and set nothing (the query API's): on the embedded engine a client on
   * the same session that sends none of EMBEDDED_SETTING_DEFAULTS, each of which only changes what an
   * insert or a mutation does. Absent: use `client`.
   */
  readonly readClient?: ClickHouseClient;
  readonly mode: ClickHouseMode;
  readonly database: string;
  close(): Promise<void>;
}

/**
 * The one place a `@clickhouse/client` is made. With a URL it talks HTTP to that server; without,
 * it plugs the in-process ClickHouse engine (chdb) into the same client, so every caller writes the
 * same code for both. Invariant: one process owns one embedded data directory (chdb's rule), so in
 * local mode every ClickHouse-touching service shares the process and this client.
 */
/**
 * The engine's defaults of every setting a query of ours gives for itself. The embedded connection
 * runs a query's settings as `SET ...;` in its one session, so they outlast the query: a writer
 * block's insert_deduplication_token would stay, and the next insert naming none (a deletion's
 * recompute, an attribution run, a test's row) would be dropped as a repeat of that block. Sent with
 * every query, they put each back unless the query gives its own. A setting a query gives must be
 * listed here (tests/unit/clickhouse-settings.test.ts reads the code for them).
 */
export const EMBEDDED_SETTING_DEFAULTS = {
  insert_deduplication_token: '',
  insert_deduplicate: 1,
  deduplicate_blocks_in_dependent_materialized_views: 0,
  mutations_sync: '0',
  async_insert: 0,
} as const;

export function createClickHouse(config: ClickHouseConnectionConfig): ClickHouse {
  if (config.url) {
    const client = createClient({
      url: config.url,
      username: config.username ?? 'default',
      password: config.password ?? '',
      database: config.database,
      request_timeout: config.requestTimeoutMs ?? 30_000,
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
    return { client, mode: 'server', database: config.database, close: () => client.close() };
  }
  const path = join(config.dataDir, 'clickhouse');
  mkdirSync(path, { recursive: true });
  // chdb implements @clickhouse/client-common's Connection; the client bundles its own copy of
  // those types, so TypeScript sees two nominally different (structurally equal) interfaces.
  const connection = createChdbConnection({ path }) as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'];
  const client = createClient({
    connection,
    database: config.database,
    clickhouse_settings: { date_time_input_format: 'best_effort', ...EMBEDDED_SETTING_DEFAULTS },
  });
  // The six `SET`s cost ~0.4-0.7 ms a query (docs/performance.md). Skipping them is safe for a query
  // that writes nothing and sets nothing: it leaves the session's settings as it found them, so the
  // next query through `client` still puts every default back, and none of them changes a SELECT
  // (tests/integration/clickhouse-read-client.integration.test.ts).
  const readClient = createClient({ connection, database: config.database });
  return { client, readClient, mode: 'embedded', database: config.database, close: () => client.close() };
}

/** The connection settings every service reads the same way (README: Configuration). */
export interface ClickHouseEnv {
  CLICKHOUSE_URL?: string | undefined;
  CLICKHOUSE_USER?: string | undefined;
  CLICKHOUSE_PASSWORD?: string | undefined;
  CLICKHOUSE_DATABASE: string;
  DATA_DIR: string;
}

export function clickHouseFromEnv(env: ClickHouseEnv, login?: { username?: string | undefined; password?: string | undefined }): ClickHouse {
  return createClickHouse({
    url: env.CLICKHOUSE_URL,
    username: login?.username ?? env.CLICKHOUSE_USER,
    password: login?.password ?? env.CLICKHOUSE_PASSWORD,
    database: env.CLICKHOUSE_DATABASE,
    dataDir: env.DATA_DIR,
  });
}

/**
 * The part that closes a ClickHouse client last: listed first by whoever made the client (a main.ts,
 * or `npm start` for the one shared embedded engine), so every user of it stops before it closes.
 */
export function clickHouseOwner(clickhouse: ClickHouse): Component {
  return { name: 'clickhouse', start: async () => {}, stop: () => clickhouse.close(), health: () => ({ ok: true }) };
}
