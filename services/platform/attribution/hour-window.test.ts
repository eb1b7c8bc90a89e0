import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../clickhouse/migrate.js';
import { HOUR_MS, hourWindow } from './hour-window.js';
import { DEFAULT_CONVERSION_EVENTS } from './journey-paths.js';

const T = Date.UTC(2026, 11, 7, 10);

describe('hourWindow', () => {
  it('widens a period to the whole UTC hours that cover it', () => {
    expect(hourWindow({ fromMs: T + 1, toMs: T + 2 * HOUR_MS - 1 })).toEqual({ fromMs: T, toMs: T + 2 * HOUR_MS });
  });
  it('keeps a period that is already whole hours', () => {
    expect(hourWindow({ fromMs: T, toMs: T + 3 * HOUR_MS })).toEqual({ fromMs: T, toMs: T + 3 * HOUR_MS });
  });
  it('gives at least one hour, also for an empty period on an hour boundary', () => {
    expect(hourWindow({ fromMs: T, toMs: T })).toEqual({ fromMs: T, toMs: T + HOUR_MS });
  });
});

describe('conversion_touchpoints_hourly (migration 030)', () => {
  it('counts the events the API calls conversions (DEFAULT_CONVERSION_EVENTS)', () => {
    const sql = readFileSync(join(MIGRATIONS_DIR, '030_attribution_hourly.sql'), 'utf8');
    const lists = [...sql.matchAll(/t\.event IN \(([^)]*)\)/g)].map((m) => m[1]!.split(',').map((s) => s.trim().replace(/^'|'$/g, '')));
    expect(lists).toHaveLength(2);
    for (const list of lists) expect(list).toEqual([...DEFAULT_CONVERSION_EVENTS]);
  });
});
