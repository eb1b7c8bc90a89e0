import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stopAfterEach } from '../support/cleanup.js';
import { eventually } from '../support/eventually.js';
import { testBrokers, uniqueGroupId } from '../support/kafka.js';
import { testKafka } from '../support/pipeline.js';
import { produceCustomerTouchpoints, writerFlushingOnStopEnv } from '../support/journey-fixtures.js';
import { runScript, startServiceProcess, waitForOutput } from '../support/processes.js';

/** A gauge's value from a Prometheus text page (NaN when absent). */
const gauge = (page: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(page)?.[1] ?? NaN);

describe('service lifecycle', () => {
  const cleanup = stopAfterEach();

  it('refuses to start on a bad setting, naming the variable', async () => {
    const svc = cleanup.process(startServiceProcess('services/writer/main.ts', { KAFKA_BROKERS: 'not a broker list', WRITER_FLUSH_INTERVAL_MS: 'soon' }));
    expect(await svc.exited).toBe(2);
    expect(svc.output()).toMatch(/KAFKA_BROKERS: expected a comma-separated list of host:port/);
    expect(svc.output()).toMatch(/WRITER_FLUSH_INTERVAL_MS: expected an integer/);
  });

  it('on SIGTERM the writer stops consuming, flushes its buffer to ClickHouse, commits, and exits 0', async () => {
    const prefix = `sd${Date.now().toString(36)}.`;
    const dataDir = mkdtempSync(join(tmpdir(), 'journey-shutdown-'));
    const groupId = uniqueGroupId('writer-sd');
    const svc = cleanup.process(
      startServiceProcess('services/writer/main.ts', writerFlushingOnStopEnv({ brokers: testBrokers(), prefix, dataDir, groupId })),
    );
    await waitForOutput(svc, 'health at');
    const ops = /health at (\S+)\/healthz/.exec(svc.output())![1]!;
    const kafka = testKafka('shutdown');
    await produceCustomerTouchpoints(kafka, `${prefix}customer-touchpoints`, { count: 200, customers: 7, idPrefix: 'sd' });
    const admin = kafka.admin();
    await admin.connect();
    cleanup.defer(() => admin.disconnect());
    const committed = async () => {
      const [t] = await admin.fetchOffsets({ groupId, topics: [`${prefix}customer-touchpoints`] });
      return t!.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    };
    // The writer has fetched all 200 records and holds them in its buffer (its own gauge says so):
    // only now does "nothing committed" show that nothing is committed before the flush.
    const buffered = await eventually(
      async () => gauge(await (await fetch(`${ops}/metrics`)).text(), 'writer_buffered_rows'),
      (n) => n >= 200,
      60_000,
      100,
      'writer_buffered_rows reaching 200',
    );
    expect(buffered).toBe(200);
    expect(await committed()).toBe(0);
    svc.child.kill('SIGTERM');
    expect(await svc.exited).toBe(0);
    expect(await committed()).toBe(200);
    const rows = JSON.parse(await runScript('tests/support/query-embedded.ts', { DATA_DIR: dataDir }, ['SELECT count() AS c FROM journey.touchpoints']));
    expect(Number(rows[0].c)).toBe(200);
  });
});
