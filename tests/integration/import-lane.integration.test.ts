import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import type { ImportRun } from '../../schemas/history-marker.js';
import { topicCodecs } from '../../schemas/topics.js';
import { testBrokers, uniquePrefix, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, testKafka } from '../support/pipeline.js';
import { runScript } from '../support/processes.js';
import { tp } from '../support/journey-fixtures.js';
import { createKafkaProducer } from '../../services/platform/kafka/producer.js';
import { historyMarkerRecords } from '../../services/collector/import/importer.js';
import { localLaneFile, openImport } from '../../services/collector/import/lane.js';

/**
 * One import at a time on the history lane (services/collector/import/lane.ts, docs/history-lane.md):
 * `npm run import` refuses while another import holds it, resumes its own interrupted run, and
 * `--close-lane` gives one up. Real broker; no ClickHouse (nothing here reaches it).
 */
describe('npm run import: one import at a time on the history lane (real broker)', () => {
  let kafka: Kafka;
  const dirs: string[] = [];
  beforeAll(() => {
    kafka = testKafka('import-lane-it');
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const tempDir = (name: string) => {
    const dir = mkdtempSync(join(tmpdir(), name));
    dirs.push(dir);
    return dir;
  };

  it('refuses while another run holds the lane, naming it; --close-lane gives it up; a run interrupted here resumes under its name', async () => {
    const prefix = uniquePrefix();
    const topics = uniqueTopics(prefix);
    await createTestTopics(kafka, topics, 2);
    const lane = topics.touchpointsHistory;
    const producer = createKafkaProducer(kafka, { name: 'import-lane-it' });
    await producer.start();
    const elsewhere: ImportRun = { id: 'run-elsewhere', host: 'etl-7', startedAt: Date.UTC(2026, 11, 7, 9), files: ['/data/other.jsonl'] };
    const codec = topicCodecs.touchpoints();
    const t0 = Date.UTC(2026, 9, 1);
    try {
      // Another machine's import: its begin, then more touchpoints than the check's first windows (1, 64).
      await producer.send(historyMarkerRecords(lane, 2, { kind: 'begin', firstEventTime: t0, run: elsewhere }));
      await producer.send(Array.from({ length: 200 }, (_, i) => ({ topic: lane, partition: i % 2, key: `u${i}`, value: codec.encode(tp({ messageId: `other-${i}`, userId: `u${i}`, anonymousId: null, timestamp: t0 + i })) })));
      const held = await openImport(kafka, lane);
      expect(held).toMatchObject({ partition: 0, begin: { firstEventTime: t0, run: elsewhere } });

      const dir = tempDir('import-lane-it-');
      const file = join(dir, 'mine.jsonl');
      writeFileSync(file, Array.from({ length: 10 }, (_, i) => JSON.stringify({ type: 'track', event: 'Product Viewed', userId: `m${i}`, messageId: `mine-${i}`, timestamp: new Date(t0 + i * 60_000).toISOString() })).join('\n'));
      const dataDir = tempDir('import-lane-data-');
      const env = { KAFKA_BROKERS: testBrokers().join(','), KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: '2', DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
      await expect(runScript('services/collector/import/main.ts', env, ['--source', 'wk_shop_server', file])).rejects.toThrow(
        /exited 3: import refused: the history lane \(.*touchpoints-history\) is held by run run-elsewhere on etl-7, started 2026-12-07T09:00:00.000Z, importing \/data\/other.jsonl/,
      );
      expect(await openImport(kafka, lane)).toMatchObject({ begin: { run: elsewhere } }); // nothing written

      // Given up: the lane is closed, and the import goes ahead, opening and closing it.
      expect(await runScript('services/collector/import/main.ts', env, ['--close-lane'])).toMatch(/history lane closed: an end marker on each of the 2 partitions/);
      expect(await openImport(kafka, lane)).toBeNull();
      const out = await runScript('services/collector/import/main.ts', env, ['--source', 'wk_shop_server', file]);
      expect(out).toMatch(/10 accepted, 0 rejected/);
      expect(out).toMatch(/history lane closed/);
      expect(await openImport(kafka, lane)).toBeNull();

      // A run of this DATA_DIR interrupted after its begin (its lane file says so): run again, it
      // resumes under its own name (no refusal) and closes the lane.
      const interrupted: ImportRun = { id: 'run-here', host: 'here', startedAt: Date.now(), files: [file] };
      localLaneFile(dataDir, lane).save(interrupted);
      await producer.send(historyMarkerRecords(lane, 2, { kind: 'begin', firstEventTime: t0, run: interrupted }));
      expect(await openImport(kafka, lane)).toMatchObject({ begin: { run: interrupted } });
      const resumed = await runScript('services/collector/import/main.ts', env, ['--source', 'wk_shop_server', '--force', file]);
      expect(resumed).toMatch(/history lane closed/);
      expect(await openImport(kafka, lane)).toBeNull();
      expect(localLaneFile(dataDir, lane).load()).toBeNull();
    } finally {
      await producer.stop();
    }
  });
});
