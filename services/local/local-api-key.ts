import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../platform/config/env.js';
import { loadApiKeys } from '../query-api/config.js';

export interface LocalApiKey {
  /** The keys file, for QUERY_API_KEYS_FILE. */
  file: string;
  /** The key, for the dashboard URL in the banner. */
  key: string;
  /** Whether this start made it (false: kept from an earlier start). */
  created: boolean;
}

export const LOCAL_KEY_NAME = 'local';

/**
 * `npm start` without QUERY_API_KEYS_FILE: one `profiles` key named `local`, made once and kept in
 * DATA_DIR (readable by its owner only), so the dashboard URL with it stays valid across restarts.
 * Deleting the file makes a new one at the next start. `newKey` is the randomness (injected).
 */
export function ensureLocalApiKey(dataDir: string, newKey: () => string): LocalApiKey {
  const file = join(dataDir, 'query-api-keys.yaml');
  if (existsSync(file)) {
    const local = loadApiKeys(file).find((k) => k.name === LOCAL_KEY_NAME);
    if (local === undefined) throw new ConfigError([`QUERY_API_KEYS_FILE ${file}: no key named ${LOCAL_KEY_NAME}; delete the file to have npm start make a new one`]);
    return { file, key: local.key, created: false };
  }
  const key = newKey();
  mkdirSync(dataDir, { recursive: true });
  const text = [
    '# Made by npm start for this machine only; delete it to get a new key. README: API keys.',
    'keys:',
    `  - name: ${LOCAL_KEY_NAME}`,
    `    key: ${key}`,
    '    scope: profiles',
    '',
  ].join('\n');
  // 'wx': never overwrite a file another start wrote in the meantime.
  writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
  return { file, key, created: true };
}
