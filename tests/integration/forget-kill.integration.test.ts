import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { topicsWithPrefix } from '../../schemas/topics.js';
import { pipelineProcesses } from '../faults/services.js';
import { messagesIn, waitForDrained, type GroupOnTopics } from '../support/drain.js';
import { eventually } from '../support/eventually.js';
import { aliceAndBob, EMAIL, FORGET_TABLES, latestValues, mentions, writerTopicsOf } from '../support/forget-fixtures.js';
import { produceTouchpoints, sessionizerGroups } from '../support/journey-fixtures.js';
import { testBrokers } from '../support/kafka.js';
import { createTestTopics, testKafka } from '../support/pipeline.js';
import { killAllServiceProcesses, runScript } from '../support/processes.js';

afterAll(async () => {
  // After a failure half-way the service processes may still run; they must not for the rest of the suite.
  await killAllServiceProcesses();
});

/**
 * Issue 21: "a deletion during a kill -9 completes after the restart". The sessionizer and the
 * writer run as their own processes (`npm run sessionizer`, `npm run writer`), the request comes
 * from `npm run forget`, and the writer executing it is SIGKILLed half-way through.
 */
describe('a deletion interrupted by kill -9 of the writer', () => {
  it('is finished by the restarted writer: status done, and nothing of the customer left in any table or state topic', async () => {
    const kafka = testKafka('forget-kill');
    const prefix = `fk${Date.now().toString(36)}.`;
    const topics = topicsWithPrefix(prefix);
    await createTestTopics(kafka, topics, 2);
    const dataDir = mkdtempSync(join(tmpdir(), 'forget-kill-'));
    const env = {
      KAFKA_BROKERS: testBrokers().join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: '2',
      // Embedded ClickHouse in DATA_DIR whatever the suite runs against: the test reads it after the writer stops.
      CLICKHOUSE_URL: '',
      DATA_DIR: dataDir,
      SESSIONIZER_GROUP_ID: `${prefix}sessionizer`,
      WRITER_GROUP_ID: `${prefix}writer`,
      WRITER_SESSIONIZER_GROUP_ID: `${prefix}sessionizer`,
      WRITER_FLUSH_INTERVAL_MS: '100',
      WRITER_DELETIONS_POLL_MS: '200',
      // Long enough that the deletion waits for the stopped journey step instead of erasing anyway.
      WRITER_DELETION_SETTLE_TIMEOUT_MS: '600000',
      TOUCHPOINT_TTL_DAYS: '3650',
      SESSIONIZER_HTTP_PORT: '0',
      WRITER_HTTP_PORT: '0',
      // info: the writer logs each deletion's steps (shown if the test fails).
      LOG_LEVEL: 'info',
    };
    const procs = pipelineProcesses(env);
    const groups: GroupOnTopics[] = [...sessionizerGroups(`${prefix}sessionizer`, topics), { groupId: `${prefix}writer`, topics: writerTopicsOf(topics) }];
    /** One query on the writer's embedded ClickHouse (only while no writer process holds it). */
    const query = async <T>(sql: string): Promise<T[]> => JSON.parse(await runScript('tests/support/query-embedded.ts', { DATA_DIR: dataDir }, [sql])) as T[];
    const deletion = async (id: string) =>
      (await query<{ status: string; version: number; ids: number; hashes: number }>(
        `SELECT toString(status) AS status, version, toUInt32(length(ids)) AS ids, toUInt32(length(id_hashes)) AS hashes FROM journey.deletions FINAL WHERE deletion_id = '${id}'`,
      ))[0];
    const aliceRows = async () =>
      Number(
        (await query<{ n: string }>(`SELECT count() AS n FROM journey.touchpoints WHERE user_id = 'alice-1' OR anonymous_id IN ('dev-phone', 'dev-laptop')`))[0]!.n,
      );

    await procs.start('sessionizer');
    await procs.start('writer');
    await produceTouchpoints(kafka, topics, aliceAndBob(Date.now() - 3 * 3_600_000));
    await waitForDrained(kafka, groups, 120_000);
    await procs.stopAll();
    expect(await aliceRows()).toBe(6);

    // The request, while nothing runs (the CLI writes it to the embedded ClickHouse itself).
    const printed = await runScript('services/writer/forget/main.ts', env, ['--email', EMAIL, '--suppress']);
    const deletionId = /^(del_\S+) pending/.exec(printed)?.[1];
    expect(deletionId, printed).toBeDefined();

    // The writer alone: it resolves the ids, publishes the deletion and sends the journey step its
    // forget records (4 ids, 4 records), then waits for the journey step, which is not running.
    const journeyBefore = await messagesIn(kafka, topics.identifiedTouchpoints);
    await procs.start('writer');
    await eventually(() => messagesIn(kafka, topics.identifiedTouchpoints), (n) => n === journeyBefore + 4, 120_000, 200, 'the forget records sent to the journey step');
    expect(await messagesIn(kafka, topics.forgottenIds)).toBe(4);
    await procs.kill9('writer');

    // Half-way: the ids are recorded (version 2, pending), nothing is erased yet.
    expect(await deletion(deletionId!)).toEqual({ status: 'pending', version: 2, ids: 4, hashes: 0 });
    expect(await aliceRows()).toBe(6);

    // The journey step comes back first and takes the forget records the killed writer sent (the
    // customer's state goes); the restarted writer sends them again, and those change nothing there
    // but must still be committed for the deletion to pass them.
    await procs.start('sessionizer');
    await waitForDrained(kafka, sessionizerGroups(`${prefix}sessionizer`, topics), 120_000);
    await procs.start('writer');
    const metricsUrl = /health at (\S+)/.exec(procs.get('writer').output())![1]!.replace('/healthz', '/metrics');
    const deletionMetrics = async () => (await (await fetch(metricsUrl)).text()).split('\n').filter((l) => l.startsWith('writer_deletion')).join('\n');
    await eventually(deletionMetrics, (text) => /writer_deletions_total\{status="done"\} 1\b/.test(text), 180_000, 250, 'the deletion done by the restarted writer').catch((error: Error) => {
      throw new Error(`${error.message}\n--- writer ---\n${procs.get('writer').output().slice(-4000)}\n--- sessionizer ---\n${procs.get('sessionizer').output().slice(-4000)}`);
    });
    await waitForDrained(kafka, groups, 120_000);
    await procs.stopAll();

    expect(await deletion(deletionId!)).toEqual({ status: 'done', version: 3, ids: 0, hashes: 4 });
    // No version of the request keeps a raw id once it is done.
    expect(await query(`SELECT deletion_id FROM journey.deletions WHERE requested_id != '' OR notEmpty(ids)`)).toEqual([]);
    for (const table of FORGET_TABLES) {
      const rows = await query<Record<string, unknown>>(`SELECT * FROM journey.${table}`);
      expect(mentions(JSON.stringify(rows)), table).toEqual([]);
    }
    expect((await query<{ message_id: string }>('SELECT message_id FROM journey.touchpoints ORDER BY message_id')).map((r) => r.message_id)).toEqual(['bo-1', 'bo-2']);
    for (const topic of [topics.journeyChangelog, topics.identityLinks]) {
      const state = await latestValues(kafka, topic, topic === topics.identityLinks ? 1 : 2);
      for (const [key, value] of state) expect([...mentions(key), ...mentions(value)], `${topic} ${key}`).toEqual([]);
    }
  }, 600_000);
});
