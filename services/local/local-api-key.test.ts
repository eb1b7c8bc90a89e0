import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadApiKeys } from '../query-api/config.js';
import { ensureLocalApiKey } from './local-api-key.js';

const KEY_1 = 'first-key-0123456789abcdefghijklmn';
const KEY_2 = 'second-key-0123456789abcdefghijklm';

describe('ensureLocalApiKey (npm start without QUERY_API_KEYS_FILE)', () => {
  it('makes a profiles key in DATA_DIR, readable by its owner only, in a file the query API loads', () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'local-key-')), 'data');
    const made = ensureLocalApiKey(dataDir, () => KEY_1);
    expect(made).toEqual({ file: join(dataDir, 'query-api-keys.yaml'), key: KEY_1, created: true });
    expect(statSync(made.file).mode & 0o777).toBe(0o600);
    expect(loadApiKeys(made.file)).toEqual([{ name: 'local', key: KEY_1, scope: 'profiles' }]);
  });

  it('keeps the key across restarts: a second start reuses it and draws no new one', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'local-key-'));
    ensureLocalApiKey(dataDir, () => KEY_1);
    const again = ensureLocalApiKey(dataDir, () => KEY_2);
    expect(again).toMatchObject({ key: KEY_1, created: false });
  });

  it('refuses a file in DATA_DIR without a local key, naming it', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'local-key-'));
    writeFileSync(join(dataDir, 'query-api-keys.yaml'), `keys:\n  - { name: other, key: ${KEY_2}, scope: dashboard }\n`);
    expect(() => ensureLocalApiKey(dataDir, () => KEY_1)).toThrow(/query-api-keys\.yaml: no key named local/);
  });
});
