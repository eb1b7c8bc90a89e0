import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../platform/config/env.js';
import { apiKeysFromConfig, isLoopbackHost, loadApiKeys } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'api-keys-'));
const file = (name: string, lines: string[]) => {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n'));
  return path;
};
const KEY_A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const KEY_B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

/** The ConfigError's lines, or a failure when it does not throw one. */
function problems(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadApiKeys', () => {
  it('reads keys with a name and a scope (YAML or JSON)', () => {
    const yaml = file('ok.yaml', ['keys:', '  - name: crm', `    key: ${KEY_A}`, '    scope: profiles', '  - name: wall-screen', `    key: ${KEY_B}`, '    scope: dashboard']);
    expect(loadApiKeys(yaml)).toEqual([
      { name: 'crm', key: KEY_A, scope: 'profiles' },
      { name: 'wall-screen', key: KEY_B, scope: 'dashboard' },
    ]);
    const json = file('ok.json', [JSON.stringify({ keys: [{ name: 'crm', key: KEY_A, scope: 'profiles' }] })]);
    expect(loadApiKeys(json)).toEqual([{ name: 'crm', key: KEY_A, scope: 'profiles' }]);
  });

  it('names the file, line and field of every problem, never the key', () => {
    const bad = file('bad.yaml', ['keys:', '  - name: crm', '    key: too-short', '    scope: owner', '  - name: web', `    key: ${KEY_B}`, '    scope: profiles', '    note: x']);
    const lines = problems(() => loadApiKeys(bad));
    expect(lines).toEqual([
      `QUERY_API_KEYS_FILE ${bad}:3:10 keys[0].key: at least 24 characters (e.g. openssl rand -base64 32)`,
      expect.stringMatching(new RegExp(`^QUERY_API_KEYS_FILE ${bad}:4:12 keys\\[0\\]\\.scope: .*"dashboard".*"profiles".*"admin"`)),
      `QUERY_API_KEYS_FILE ${bad}:8:5 keys[1].note: Unrecognized key: "note"`,
    ]);
    expect(lines.join('\n')).not.toContain('too-short');
  });

  it('rejects a name used twice, a key reused under two names, characters a Bearer token cannot carry, and an empty list', () => {
    const dup = file('dup.yaml', ['keys:', '  - { name: a, key: ' + KEY_A + ', scope: dashboard }', '  - { name: b, key: ' + KEY_A + ', scope: profiles }']);
    expect(problems(() => loadApiKeys(dup))).toEqual([`QUERY_API_KEYS_FILE ${dup}:3:21 keys[1].key: duplicate key`]);
    const names = file('names.yaml', ['keys:', '  - { name: crm, key: ' + KEY_A + ', scope: dashboard }', '  - { name: crm, key: ' + KEY_B + ', scope: profiles }']);
    expect(problems(() => loadApiKeys(names))).toEqual([`QUERY_API_KEYS_FILE ${names}:3:13 keys[1].name: duplicate name`]);
    const spaces = file('spaces.yaml', ['keys:', '  - name: a', `    key: "${KEY_A} x"`, '    scope: dashboard']);
    expect(problems(() => loadApiKeys(spaces))).toEqual([`QUERY_API_KEYS_FILE ${spaces}:3:10 keys[0].key: letters, digits and - . _ ~ + / (then = padding) only`]);
    const none = file('none.yaml', ['keys: []']);
    expect(problems(() => loadApiKeys(none))).toEqual([`QUERY_API_KEYS_FILE ${none}:1:7 keys: at least one key`]);
  });

  it('names a file that cannot be read, or parsed', () => {
    expect(problems(() => loadApiKeys(join(dir, 'missing.yaml')))[0]).toMatch(/^QUERY_API_KEYS_FILE .*missing\.yaml: ENOENT/);
    const broken = file('broken.yaml', ['keys:', '  - name: [unclosed']);
    expect(problems(() => loadApiKeys(broken))[0]).toMatch(new RegExp(`^QUERY_API_KEYS_FILE ${broken}:\\d+:\\d+ `));
  });
});

describe('isLoopbackHost', () => {
  it('knows loopback addresses from the others', () => {
    for (const h of ['127.0.0.1', '127.3.2.1', 'localhost', 'LOCALHOST', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) expect([h, isLoopbackHost(h)]).toEqual([h, true]);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.5', '128.0.0.1', 'example.com', 'localhost.example.com', '']) expect([h, isLoopbackHost(h)]).toEqual([h, false]);
  });
});

describe('apiKeysFromConfig', () => {
  it('is open (no keys) on loopback without a keys file', () => {
    expect(apiKeysFromConfig({ HTTP_HOST: '127.0.0.1', QUERY_API_KEYS_FILE: undefined })).toBeUndefined();
  });

  it('refuses a non-loopback host without a keys file, saying what to do', () => {
    const [line] = problems(() => apiKeysFromConfig({ HTTP_HOST: '0.0.0.0', QUERY_API_KEYS_FILE: undefined }));
    expect(line).toMatch(/^HTTP_HOST 0\.0\.0\.0 is not a loopback address and QUERY_API_KEYS_FILE is not set/);
    expect(line).toContain('Set QUERY_API_KEYS_FILE');
  });

  it('loads the keys file on any host', () => {
    const ok = file('any.yaml', ['keys:', '  - name: crm', `    key: ${KEY_A}`, '    scope: profiles']);
    expect(apiKeysFromConfig({ HTTP_HOST: '0.0.0.0', QUERY_API_KEYS_FILE: ok })).toEqual([{ name: 'crm', key: KEY_A, scope: 'profiles' }]);
  });
});
