import { afterAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../services/platform/kafka/client.js';
import { createLogger } from '../../services/platform/logging/logger.js';
import { startDedicatedBroker, type DedicatedBroker } from '../faults/broker.js';
import { runScenario } from '../faults/harness.js';
import { onFreePortPair } from '../support/ports.js';
import { killAllServiceProcesses } from '../support/processes.js';

// A broker of its own: the hard restart must not hit the broker other test files share.
let broker: DedicatedBroker | undefined;
afterAll(async () => {
  // The harness stops its services when a scenario completes; after a failure half-way they may
  // still run, and must not for the rest of the suite.
  await killAllServiceProcesses();
  broker?.destroy();
});

// The short version of `npm run test:faults`: the same harness, fewer events and faults.
describe('faults: kill -9, a broker restart and a ClickHouse outage during a stream', () => {
  it('loses no event, keeps no duplicate after dedup, and ends with the sessions and funnel of a clean run', async () => {
    // A free port pair, not a fixed one: another run on this machine may have a broker on a fixed
    // port, which infra/kafka/broker.sh would "use" and that run would then stop under this one.
    broker = await onFreePortPair((port) => startDedicatedBroker(port));
    const kafka = createKafka({ brokers: [broker.brokers], clientId: 'faults-test', logger: createLogger('faults', 'error') });
    const common = {
      kafka,
      broker,
      events: 12_000,
      seed: 7,
      startTime: Date.now() - 3 * 3_600_000,
      partitions: 2,
      log: (line: string) => process.stdout.write(`[faults] ${line}\n`),
      drainTimeoutMs: 240_000,
    };
    const clean = await runScenario({ ...common, faults: null });
    const faulty = await runScenario({ ...common, faults: { kills: 3, brokerRestarts: 1, clickhouseOutages: 1, clickhouseOutageMs: 3_000 } });
    process.stdout.write(`[faults] clean ${JSON.stringify({ ...clean, sessionRows: clean.sessionRows.length, funnelRows: clean.funnelRows.length })}\n`);
    process.stdout.write(`[faults] faulty ${JSON.stringify({ ...faulty, sessionRows: faulty.sessionRows.length, funnelRows: faulty.funnelRows.length })}\n`);

    expect(faulty.faults.map((f) => f.kind).sort()).toEqual(['broker', 'clickhouse', 'kill', 'kill', 'kill']);
    expect(clean.lostEvents).toBe(0);
    expect(faulty.lostEvents).toBe(0);
    expect(clean.duplicateRowsAfterDedup).toBe(0);
    expect(faulty.duplicateRowsAfterDedup).toBe(0);
    // Every session and every funnel row (kind, stage, customer, origin) as in the clean run.
    expect(faulty.sessions.count).toBe(clean.sessions.count);
    expect(faulty.sessionRows).toEqual(clean.sessionRows);
    expect(faulty.funnel).toEqual(clean.funnel);
    expect(faulty.funnelRows).toEqual(clean.funnelRows);
  }, 900_000);
});
