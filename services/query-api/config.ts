import { z } from 'zod';
import { commonEnv, ConfigError, envInt, envList } from '../platform/config/env.js';
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { ConfigFileError, parseConfigFile } from '../platform/config/yaml-file.js';
import { ApiKeysFileSchema, type ApiKey } from './api-keys.js';

export const QueryApiEnv = z.object({
  ...commonEnv,
  /** Against a server, the API logs in as a read-only user (README: ClickHouse users). */
  QUERY_API_CLICKHOUSE_USER: z.string().optional(),
  QUERY_API_CLICKHOUSE_PASSWORD: z.string().optional(),
  QUERY_API_HTTP_PORT: envInt(8081, 0, 65_535),
  QUERY_API_CORS_ORIGINS: envList([]),
  /**
   * API keys (README: API keys). Unset: no key is asked for, which only a loopback HTTP_HOST
   * allows; `npm start` then generates a local key in DATA_DIR.
   */
  QUERY_API_KEYS_FILE: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v)),
  HTTP_HOST: z.string().default('127.0.0.1'),
});
export type QueryApiConfig = z.infer<typeof QueryApiEnv>;

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Hosts only this machine can reach: `localhost`, 127.0.0.0/8, ::1 (also written [::1] or ::ffff:127.x). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  if (isIP(v4) === 4) return LOOPBACK.check(v4, 'ipv4');
  return isIP(h) === 6 && LOOPBACK.check(h, 'ipv6');
}

/**
 * Reads a keys file (YAML or JSON: `keys: [{ name, key, scope }]`). An unreadable or invalid file
 * stops the start with a ConfigError whose every line names the file, line and field — never the
 * value, which may be a key.
 */
export function loadApiKeys(file: string): ApiKey[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`QUERY_API_KEYS_FILE ${file}: ${(error as Error).message}`]);
  }
  try {
    return parseConfigFile(text, file, ApiKeysFileSchema).keys;
  } catch (error) {
    if (error instanceof ConfigFileError) {
      throw new ConfigError(error.problems.map((p) => `QUERY_API_KEYS_FILE ${file}:${p.line}:${p.column} ${p.path ? `${p.path}: ` : ''}${p.message}`));
    }
    throw error;
  }
}

/**
 * The keys the API requires, or undefined when it is open. Open is allowed only on loopback: a
 * query API any other machine can reach without a key would serve customer ids and churn scores
 * to anyone, so that configuration refuses to start.
 */
export function apiKeysFromConfig(config: Pick<QueryApiConfig, 'QUERY_API_KEYS_FILE' | 'HTTP_HOST'>): ApiKey[] | undefined {
  if (config.QUERY_API_KEYS_FILE !== undefined) return loadApiKeys(config.QUERY_API_KEYS_FILE);
  if (isLoopbackHost(config.HTTP_HOST)) return undefined;
  throw new ConfigError([
    `HTTP_HOST ${config.HTTP_HOST} is not a loopback address and QUERY_API_KEYS_FILE is not set: ` +
      'the query API would serve customer data to anyone who can reach it without a key. ' +
      'Set QUERY_API_KEYS_FILE to a keys file (README: API keys), or bind HTTP_HOST=127.0.0.1.',
  ]);
}
