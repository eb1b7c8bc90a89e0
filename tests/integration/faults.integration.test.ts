import { describe, expect, it } from 'vitest';
import { testBrokers } from '../support/kafka.js';
import { testKafka } from '../support/pipeline.js';
import { runScenario } from '../faults/harness.js';

// The short version of `npm run test:faults`: the same harness, fewer events and faults.
describe('faults: kill -9 and ClickHouse outage during a stream', () => {
  it('loses no event, keeps no duplicate after dedup, and ends with the sessions and funnel of a clean run', async () => {
    const kafka = testKafka('faults');
    const common = {
      kafka,
      brokers: testBrokers().join(','),
      events: 12_000,
      seed: 7,
      startTime: Date.now() - 3 * 3_600_000,
      partitions: 2,
      log: (line: string) => process.stdout.write(`[faults] ${line}\n`),
      drainTimeoutMs: 240_000,
    };
    const clean = await runScenario({ ...common, faults: null });
    // No hard broker restart here: recovery from one is not yet reliable for every consumer (README,
    // Known limits); `npm run test:faults` still injects them and reports what happens.
    const faulty = await runScenario({ ...common, faults: { kills: 3, brokerRestarts: 0, clickhouseOutages: 1, clickhouseOutageMs: 3_000 } });
    process.stdout.write(`[faults] clean ${JSON.stringify({ ...clean, sessionRows: clean.sessionRows.length })}\n`);
    process.stdout.write(`[faults] faulty ${JSON.stringify({ ...faulty, sessionRows: faulty.sessionRows.length })}\n`);

    expect(faulty.faults).toHaveLength(4);
    expect(clean.lostEvents).toBe(0);
    expect(faulty.lostEvents).toBe(0);
    expect(clean.duplicateRowsAfterDedup).toBe(0);
    expect(faulty.duplicateRowsAfterDedup).toBe(0);
    // Sessions of customers stitched across partitions can differ with timing (which sessions of an
    // absorbed customer were already closed when its state moved: README, Known limits); with or
    // without faults, at most 1% of sessions may differ. Every event is in exactly one session.
    const differing = faulty.sessionRows.filter((s) => !clean.sessionRows.includes(s)).length;
    expect(differing).toBeLessThanOrEqual(Math.ceil(clean.sessions.count * 0.01));
    // Funnel counts of customers stitched across devices depend on whether the absorbed id's state
    // reaches the survivor before the survivor's next event (a cross-partition race, present between
    // two clean runs too: README, Known limits). They are reported, and held within 1% (entries)
    // and 15% (conversions, a few hundred here) of the clean run; everything else above is exact.
    for (const row of clean.funnel) {
      const other = faulty.funnel.find((r) => r.kind === row.kind && r.stage === row.stage);
      const tolerance = Math.ceil(row.customers * (row.kind === 'conversion' ? 0.15 : 0.01));
      expect(Math.abs((other?.customers ?? 0) - row.customers)).toBeLessThanOrEqual(tolerance);
    }
  }, 900_000);
});
