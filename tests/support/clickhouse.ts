import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createClickHouse, type ClickHouse } from '../../services/platform/clickhouse/client.js';
import { migrate } from '../../services/platform/clickhouse/migrate.js';

let shared: ClickHouse | undefined;

/**
 * The test process's ClickHouse. Embedded chdb allows one data directory per process, so every
 * integration test in this process shares one engine and isolates itself with its own database.
 */
function engine(): ClickHouse {
  shared ??= createClickHouse({
    url: inject('clickhouseUrl') || undefined,
    database: 'default',
    dataDir: inject('testDataDir'),
  });
  return shared;
}

export interface TestDatabase {
  ch: ClickHouse;
  database: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database with a unique name, on the shared engine. */
export async function freshDatabase(prefix = 'it', options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const database = `${prefix}_${randomBytes(4).toString('hex')}`;
  const base = engine();
  if (options.migrate === false) await base.client.command({ query: `CREATE DATABASE ${database}` });
  else await migrate(base.client, { database, touchpointTtlDays: 3650 });
  const ch: ClickHouse = { client: base.client, ...(base.readClient ? { readClient: base.readClient } : {}), mode: base.mode, database, close: async () => {} };
  return { ch, database, drop: async () => void (await base.client.command({ query: `DROP DATABASE IF EXISTS ${database}` })) };
}

export function testClickHouseEngine(): ClickHouse {
  return engine();
}
