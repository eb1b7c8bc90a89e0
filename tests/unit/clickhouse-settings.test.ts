import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EMBEDDED_SETTING_DEFAULTS } from '../../services/platform/clickhouse/client.js';

/** Settings whose value outlasting its query is harmless: every query of ours wants the same. */
const SAME_FOR_EVERY_QUERY = new Set(['date_time_input_format', 'input_format_skip_unknown_fields']);

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [join(dir, e.name)] : []));

describe('ClickHouse settings given per query', () => {
  it('each has its engine default in EMBEDDED_SETTING_DEFAULTS, so it cannot outlast its query on the embedded engine', () => {
    const given = new Set<string>();
    for (const file of sourceFiles('services')) {
      const text = readFileSync(file, 'utf8');
      // `clickhouse_settings: { ... }` and the settings helpers that build one (`settings = (...) => ({ ... })`).
      for (const block of text.matchAll(/clickhouse_settings:\s*\{([^}]*)\}|settings = \([^)]*\) => \(\{([^}]*)\}\)/g)) {
        for (const key of (block[1] ?? block[2] ?? '').matchAll(/(\w+)\s*:/g)) given.add(key[1]!);
      }
    }
    expect(given.size).toBeGreaterThan(3);
    const missing = [...given].filter((k) => !(k in EMBEDDED_SETTING_DEFAULTS) && !SAME_FOR_EVERY_QUERY.has(k));
    expect(missing).toEqual([]);
  });
});
