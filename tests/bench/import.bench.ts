// History import through the whole pipeline: a simulated history file (npm run simulate's code),
// imported with `npm run import` into a fresh pipeline (sessionizer process, writer with embedded
// ClickHouse in this process), timed until every group has committed everything and the rows are
// queryable; then `verify`'s comparison of sessions with the batch recomputation. Also how many
// calls 90 days x 50,000 customers make, and the wall time that takes at the measured rate.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { topicsWithPrefix } from '../../schemas/topics.js';
import { parseEnv } from '../../services/platform/config/env.js';
import { ensureTopics } from '../../services/platform/kafka/admin.js';
import { createKafka } from '../../services/platform/kafka/client.js';
import { pipelineTopicSpecs } from '../../services/platform/kafka/pipeline-topics.js';
import { createLogger } from '../../services/platform/logging/logger.js';
import { sessionizerConfig } from '../../services/sessionizer/core/sessions.js';
import { createIdentityTable } from '../../services/sessionizer/identity-table.js';
import { verifySessions } from '../../services/sessionizer/verify/verify-sessions.js';
import { checkFunnel, readFunnelSources } from '../../services/sessionizer/verify/verify-funnel.js';
import { SessionizerEnv } from '../../services/sessionizer/config.js';
import { sessionSettings } from '../../services/sessionizer/settings.js';
import { partitionOfKey } from '../../services/platform/kafka/partition-of-key.js';
import { identityKey } from '../../schemas/touchpoint.js';
import { simulatorConfigFrom, SimulatorEnv } from '../../services/simulator/config.js';
import { writeHistory } from '../../services/simulator/history/write-history.js';
import { journeyRoutes } from '../../services/writer/routes.js';
import { benchWriter } from './bench-writer.js';
import { groupLag } from '../faults/quiescence.js';
import { startServiceProcess, waitForOutput } from '../support/processes.js';
import { brokerPid, cpuSecondsOrNaN } from './proc-stats.js';

export interface ImportBenchOptions {
  brokers: string;
  days: number;
  customers: number;
  seed: number;
  log: (line: string) => void;
}

const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

export async function runImportBench(o: ImportBenchOptions): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'import-bench-'));
  const config = simulatorConfigFrom(parseEnv(SimulatorEnv, { SIMULATOR_SEED: String(o.seed) }));
  const endTime = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  const file = join(dir, 'history.jsonl.gz');
  const history = await writeHistory(config, { days: o.days, customers: o.customers, endTime, out: file });
  // The full-size history's call count (written and dropped): what the rate below has to carry.
  const full = await writeHistory(config, { days: 90, customers: 50_000, endTime, out: join(dir, 'full.jsonl.gz') });
  o.log(`import: ${history.calls} calls over ${o.days} days (${o.customers} customers), ${round(statSync(file).size / 2 ** 20, 1)} MiB gzip; 90 d x 50,000 customers: ${full.calls} calls`);
  rmSync(join(dir, 'full.jsonl.gz'));

  const prefix = `ib${Date.now().toString(36)}.`;
  const topics = topicsWithPrefix(prefix);
  const logger = createLogger('bench', 'warn');
  const kafka = createKafka({ brokers: o.brokers.split(','), clientId: 'import-bench', logger });
  await ensureTopics(kafka, pipelineTopicSpecs(topics, 4));
  const env = { KAFKA_BROKERS: o.brokers, KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: '4', DATA_DIR: join(dir, 'data'), SESSIONIZER_GROUP_ID: `${prefix}sess`, SESSIONIZER_HTTP_PORT: '0', LOG_LEVEL: 'warn' };
  const sessionizer = startServiceProcess('services/sessionizer/main.ts', env);
  const { ch, writer } = await benchWriter({ kafka, topics, prefix, dataDir: join(dir, 'ch'), flushIntervalMs: 500, logger });
  try {
    await waitForOutput(sessionizer, 'health at', 120_000);
    await writer.start();
    const broker = brokerPid(Number(o.brokers.split(':').at(-1)));
    const cpuBefore = { sessionizer: cpuSecondsOrNaN(sessionizer.child.pid), writer: cpuSecondsOrNaN(process.pid), broker: cpuSecondsOrNaN(broker) };
    const loadAtStart = loadavg()[0]!;
    const started = Date.now();
    const cli = spawn(process.execPath, ['--import', 'tsx', 'services/collector/import/main.ts', file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let summary = '';
    cli.stdout.on('data', (d) => (summary += d));
    cli.stderr.resume();
    const [code] = await once(cli, 'exit');
    if (code !== 0) throw new Error(`import exited ${code}: ${summary}`);
    const importerSeconds = (Date.now() - started) / 1000;
    const groups = [
      { groupId: `${prefix}sess-router`, topics: [topics.touchpoints, topics.touchpointsHistory] },
      { groupId: `${prefix}sess-sessions`, topics: [topics.identifiedTouchpoints] },
      { groupId: `${prefix}writer`, topics: journeyRoutes(topics, 'journey').map((r) => r.topic) },
    ];
    for (let quiet = 0; quiet < 2; ) {
      await new Promise((r) => setTimeout(r, 500));
      const lags = await Promise.all(groups.map((g) => groupLag(kafka, g.groupId, g.topics).catch(() => Infinity)));
      quiet = lags.every((l) => l === 0) ? quiet + 1 : 0;
    }
    const seconds = (Date.now() - started) / 1000;
    const accepted = Number(/([\d,]+) accepted/.exec(summary)?.[1]?.replace(/,/g, '') ?? NaN);
    const cpu = {
      sessionizer: cpuSecondsOrNaN(sessionizer.child.pid) - cpuBefore.sessionizer,
      'writer+clickhouse (bench process)': cpuSecondsOrNaN(process.pid) - cpuBefore.writer,
      broker: cpuSecondsOrNaN(broker) - cpuBefore.broker,
    };
    const rows = Number((await (await ch.client.query({ query: 'SELECT count() AS c FROM journey.touchpoints FINAL', format: 'JSONEachRow' })).json<{ c: number }>())[0]!.c);
    const table = createIdentityTable({ kafka, topic: topics.identityLinks, logger });
    await table.start();
    await table.catchUpToEnd();
    const verified = await verifySessions(ch.client, 'journey', (id) => table.graph.resolve(id), sessionizerConfig(() => null));
    // The funnel as `npm run verify` checks it, with the sessionizer's own (default) settings.
    const settings = sessionSettings(parseEnv(SessionizerEnv, env));
    const funnelSources = await readFunnelSources(ch.client, 'journey', (tp) => partitionOfKey(topics.touchpoints, identityKey(tp), 4));
    const funnel = checkFunnel(funnelSources, (id) => table.graph.resolve(id), settings.stages.rules, settings.stages.config, sessionizerConfig(settings.stageOf, settings.sessions).graceMs);
    await table.stop();
    const eventsPerSecond = Math.round(accepted / seconds);
    const result = {
      days: o.days,
      customers: o.customers,
      calls: history.calls,
      accepted,
      importerSeconds: round(importerSeconds, 1),
      seconds: round(seconds, 1),
      eventsPerSecond,
      touchpointRows: rows,
      cpuSecondsPerMillion: Object.fromEntries(Object.entries(cpu).map(([k, s]) => [k, round((s / accepted) * 1e6, 1)])),
      verify: { touchpoints: verified.touchpoints, expectedSessions: verified.expected, sessionsInClickHouse: verified.found, mismatches: verified.mismatches, mismatchesOfMergedCustomers: verified.mismatchesOfMergedCustomers, eventCountDifference: verified.eventCountDifference, examples: verified.examples.slice(0, 3),
        funnel: { expectedRows: funnel.expectedRows, foundRows: funnel.foundRows, undecidedRows: funnel.undecidedRows, customersDiffering: funnel.mismatches, ofThemStitchedByAMerge: funnel.mismatchesOfMergedCustomers } },
      fullHistory: { days: 90, customers: 50_000, calls: full.calls, estimatedMinutes: round(full.calls / eventsPerSecond / 60, 1) },
      importerSummary: summary.trim().split('\n')[0],
      loadAverage: { start: round(loadAtStart, 2), end: round(loadavg()[0]!, 2) },
    };
    o.log(`import: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await writer.stop().catch(() => undefined);
    await ch.close().catch(() => undefined);
    sessionizer.child.kill('SIGTERM');
    await sessionizer.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}
