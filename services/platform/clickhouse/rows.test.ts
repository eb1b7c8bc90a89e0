import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttributionCredit, CustomerTouchpoint } from '../../../schemas/journey.js';
import { heuristicCredit } from '../attribution/heuristic.js';
import { attributionRows } from './attribution-rows.js';
import { MIGRATIONS_DIR } from './migrate.js';
import { TABLE_FOR_TOPIC, attributionCreditRow, chDateTime64, touchpointRow } from './rows.js';
import { sampleData } from '../../../tests/support/query-api-sample-data.js';

/** Column names of `CREATE TABLE ... {db}.<table>{local}` in the migrations (INDEX lines excluded), and those later migrations add. */
function columnsOf(table: string): string[] {
  const sql = readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => readFileSync(join(MIGRATIONS_DIR, f), 'utf8'))
    .join('\n');
  const start = sql.indexOf(`CREATE TABLE IF NOT EXISTS {db}.${table}{local}`);
  if (start < 0) throw new Error(`no table ${table}`);
  const body = sql.slice(sql.indexOf('(', start) + 1, sql.indexOf('\n)', start));
  const created = body
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^[a-z_]+\s/.test(line) && !line.startsWith('INDEX'))
    .map((line) => line.split(/\s/)[0]!);
  const alters = sql.split(/;\s*$/m).filter((statement) => statement.includes(`ALTER TABLE {db}.${table}{local} `));
  const added = alters.flatMap((statement) => [...statement.matchAll(/ADD COLUMN (?:IF NOT EXISTS )?([a-z_]+)/g)].map((m) => m[1]!));
  return [...created, ...added];
}

const now = Date.UTC(2026, 2, 4, 12);
const data = sampleData(now);
const oneOf = {
  customerTouchpoints: data.touchpoints[0]!,
  sessions: data.sessions[0]!,
  stageTransitions: data.transitions[0]!,
  funnelEvents: data.funnelEvents[0]!,
  churnScores: data.churnScores[0]!,
  alerts: data.alerts[0]!,
  deadLetter: { sourceTopic: 'touchpoints', stage: 'decode', reason: 'bad magic byte', at: now, key: 'k', payload: 'AAE=' },
  attribution: {
    conversionId: 'o1', customerId: 'u:1', site: 'shop', convertedAt: now, model: 'linear', touchMessageId: 'm1',
    channel: 'email', campaign: null, touchAt: now - 60_000, credit: 1, revenueShare: 20, version: 1,
  } satisfies AttributionCredit,
};

describe('ClickHouse row mappers', () => {
  it('formats epoch milliseconds as a UTC DateTime64(3) text that basic and best_effort parsing both read', () => {
    expect(chDateTime64(Date.UTC(2026, 10, 22, 17, 0, 0, 123))).toBe('2026-11-22 17:00:00.123');
    expect(chDateTime64(0)).toBe('1970-01-01 00:00:00.000');
  });

  it('formats every millisecond as the ISO text does (the minute kept per slot never leaks into another minute)', () => {
    const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
    const near = Date.UTC(2026, 11, 7, 12);
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: 253_402_300_799_999 }), fc.integer({ min: near - 3_600_000, max: near + 3_600_000 }), fc.integer({ min: -86_400_000, max: -1 }), fc.double({ min: 0, max: 2e12, noNaN: true })), (ms) => {
        expect(chDateTime64(ms)).toBe(iso(ms));
      }),
      { numRuns: 20_000 },
    );
    // Two minutes 64 apart share a slot: each still gets its own.
    for (const ms of [near, near + 64 * 60_000 + 1, near + 999, near + 64 * 60_000 + 59_999]) expect(chDateTime64(ms)).toBe(iso(ms));
  });

  it('maps every written topic to a table whose columns are exactly the row keys', () => {
    for (const [topic, { table, toRow }] of Object.entries(TABLE_FOR_TOPIC)) {
      const row = (toRow as (v: unknown) => object)(oneOf[topic as keyof typeof oneOf]);
      expect(Object.keys(row).sort(), `${topic} → ${table}`).toEqual(columnsOf(table).sort());
    }
  });

  it('covers the eight topics the writer persists', () => {
    expect(Object.keys(TABLE_FOR_TOPIC).sort()).toEqual(
      ['alerts', 'attribution', 'churnScores', 'customerTouchpoints', 'deadLetter', 'funnelEvents', 'sessions', 'stageTransitions'].sort(),
    );
  });

  it('maps an attribution record to the same row attributionRows makes from the credit', () => {
    const conversion = { id: 'o1', customerId: 'u:1', site: 'shop', at: now, revenue: 20 };
    const touches = [{ messageId: 'm1', channel: 'email', campaign: null, at: now - 60_000 }];
    const [expected] = attributionRows(conversion, 'linear', heuristicCredit('linear', conversion, touches));
    expect(attributionCreditRow(oneOf.attribution)).toEqual(expected);
  });

  it('flattens a customer touchpoint, keeping nulls as nulls', () => {
    const ctp: CustomerTouchpoint = data.touchpoints[0]!;
    const row = touchpointRow({ ...ctp, accountId: 'acme', late: true });
    expect(row).toMatchObject({
      message_id: ctp.touchpoint.messageId,
      customer_id: 'p1',
      account_id: 'acme',
      late: true,
      anonymous_id: null,
      utm_campaign: null,
      revenue: 120,
      ts: chDateTime64(ctp.touchpoint.timestamp),
    });
  });
});
