import { topicsWithPrefix } from '../../../schemas/topics.js';
import { clickHouseFromEnv } from '../../platform/clickhouse/client.js';
import { ConfigError, parseEnv } from '../../platform/config/env.js';
import { createKafka } from '../../platform/kafka/client.js';
import { pipelineTopicsSetup } from '../../platform/kafka/pipeline-topics.js';
import { createLogger } from '../../platform/logging/logger.js';
import { SessionizerEnv } from '../config.js';
import { sessionizerConfig } from '../core/sessions.js';
import { createIdentityTable } from '../identity-table.js';
import { sessionSettings } from '../settings.js';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { verifySessions } from './verify-sessions.js';
import { checkFunnel, readFunnelSources, type FunnelReport } from './verify-funnel.js';
import { partitionCount } from '../../platform/kafka/admin.js';
import { partitionOfKey } from '../../platform/kafka/partition-of-key.js';
import { identityKey } from '../../../schemas/touchpoint.js';
import { commandExitCode } from '../../platform/runtime/run-command.js';
import { formatBgNbdReport, generatingBgNbd, verifyBgNbd, type GeneratingBgNbd } from './verify-bgnbd.js';
import { DEFAULT_PURCHASE_EVENTS } from '../refit-bgnbd.js';

const USAGE = 'usage: npm run verify [-- --bgnbd history.jsonl.gz.params.json]';

/** `--bgnbd FILE`: the simulator's parameters file, whose BG/NBD process the refit must recover. */
function bgnbdOption(): GeneratingBgNbd | null {
  let values;
  try {
    ({ values } = parseArgs({ args: process.argv.slice(2), options: { bgnbd: { type: 'string' } } }));
  } catch (error) {
    throw new ConfigError([(error as Error).message, USAGE]);
  }
  if (values.bgnbd === undefined) return null;
  let text: string;
  try {
    text = readFileSync(values.bgnbd, 'utf8');
  } catch (error) {
    throw new ConfigError([`--bgnbd ${values.bgnbd}: ${(error as Error).message}`, USAGE]);
  }
  try {
    return generatingBgNbd(text, values.bgnbd);
  } catch (error) {
    throw new ConfigError([(error as Error).message]);
  }
}

const n = (x: number) => x.toLocaleString('en');

function printFunnel(report: FunnelReport): void {
  const settled = Number.isFinite(report.settledUntil) ? new Date(report.settledUntil).toISOString() : 'never';
  process.stdout.write(
    `funnel: ${n(report.expectedRows)} rows by the batch recomputation from the stage rules, ${n(report.foundRows)} in ClickHouse ` +
      `(${n(report.undecidedRows)} of them drop-offs or lapses due after ${settled}, when the last tick may not have come yet: not judged); ` +
      `${n(report.mismatches)} customers differ (${n(report.mismatchesOfMergedCustomers)} stitched by a merge)\n`,
  );
  for (const c of report.counts) {
    const flag = c.expected === c.found ? '' : '  <- differs';
    process.stdout.write(`  ${c.site || '(no site)'} ${c.stage} ${c.kind}: expected ${n(c.expected)}, found ${n(c.found)}${flag}\n`);
  }
  for (const m of report.examples) {
    process.stdout.write(`  ${m.customerId}: ${m.counts.map((c) => `${c.site} ${c.stage} ${c.kind} expected ${c.expected} found ${c.found}`).join('; ')}\n`);
  }
}

/**
 * `npm run verify`: the sessions and the funnel in ClickHouse against batch recomputations from its
 * touchpoints (README, "Load your history"). Reads the identity table from Kafka, so touchpoints of
 * ids merged since are counted under their survivor. With `--bgnbd <params file>` also refits BG/NBD
 * from the purchases and compares it with the simulator's generating parameters. Exit code 1 when
 * anything differs. With embedded ClickHouse, run it while the pipeline is stopped (the engine has
 * one owner per data directory).
 */
async function main(): Promise<number> {
  const generating = bgnbdOption();
  const config = parseEnv(SessionizerEnv, process.env);
  const settings = sessionSettings(config);
  const logger = createLogger('verify', config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'journey-verify', logger });
  const topics = topicsWithPrefix(config.KAFKA_TOPIC_PREFIX);
  // A pipeline that never ran has no identity table yet: created empty, so the read below ends.
  await pipelineTopicsSetup(kafka, topics, config.KAFKA_PARTITIONS).start();
  const table = createIdentityTable({ kafka, topic: topics.identityLinks, logger });
  const clickhouse = clickHouseFromEnv(config);
  await table.start();
  try {
    await table.catchUpToEnd();
    const sessionRules = sessionizerConfig(settings.stageOf, settings.sessions);
    const report = await verifySessions(clickhouse.client, clickhouse.database, (id) => table.graph.resolve(id), sessionRules);
    process.stdout.write(
      `sessions: ${report.expected.toLocaleString('en')} by the batch recomputation from ${report.touchpoints.toLocaleString('en')} touchpoints (late ones left out), ` +
        `${report.found.toLocaleString('en')} in ClickHouse, ${report.mismatches.toLocaleString('en')} mismatches (${report.mismatchesOfMergedCustomers.toLocaleString('en')} of customers stitched by a merge); ` +
        `events in sessions minus touchpoints placed: ${report.eventCountDifference}\n`,
    );
    for (const m of report.examples) process.stdout.write(`  ${m.sessionId}: expected ${JSON.stringify(m.expected)}, found ${JSON.stringify(m.found)}\n`);
    const sources = await partitionCount(kafka, topics.touchpoints);
    const funnelSources = await readFunnelSources(clickhouse.client, clickhouse.database, (tp) => partitionOfKey(topics.touchpoints, identityKey(tp), sources));
    const funnel = checkFunnel(funnelSources, (id) => table.graph.resolve(id), settings.stages.rules, settings.stages.config, sessionRules.graceMs);
    printFunnel(funnel);
    const ok = report.mismatches === 0 && report.eventCountDifference === 0 && funnel.mismatches === 0;
    if (generating === null) return ok ? 0 : 1;
    const bgnbd = await verifyBgNbd(clickhouse.client, generating, { database: clickhouse.database, events: DEFAULT_PURCHASE_EVENTS, resolve: (id) => table.graph.resolve(id) });
    process.stdout.write(formatBgNbdReport(bgnbd, generating.timeUnitDays));
    return ok && bgnbd.ok ? 0 : 1;
  } finally {
    await table.stop();
    await clickhouse.close();
  }
}

process.exitCode = await commandExitCode('verify', main, process.stderr);
