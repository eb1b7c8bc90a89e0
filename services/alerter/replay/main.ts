import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { clickHouseFromEnv } from '../../platform/clickhouse/client.js';
import { commonEnv, ConfigError, parseEnv } from '../../platform/config/env.js';
import { commandExitCode } from '../../platform/runtime/run-command.js';
import { AlerterEnv, loadMonitors } from '../config.js';
import { createClickHouseWindowSource } from '../window-source.js';
import { cachedWindowSource, loadCountsCache, serializeCountsCache } from './counts-cache.js';
import { touchpointTimeRange } from './data-range.js';
import { parseIncidentsFile } from './incidents-file.js';
import { replayAlerts } from './replay.js';
import { renderReplayReport } from './report.js';
import { replayPassed, scoreReplay } from './score.js';

const USAGE = 'usage: npm run replay-alerts -- --incidents history.jsonl.gz.params.json [--counts-cache FILE]';

export const ReplayEnv = z.object({ ...commonEnv, ALERTER_MONITORS_FILE: AlerterEnv.shape.ALERTER_MONITORS_FILE });

/**
 * `npm run replay-alerts` (README, "Load your history"): the alerter's detector stepped over the
 * event-time windows of everything in ClickHouse, as the live schedule would have evaluated them,
 * scored against the incidents injected into a simulated history. Exit code 1 when an incident the
 * alerter could judge was missed, when anything else fired, or when no incident could be judged.
 * With embedded ClickHouse, run it while the pipeline is stopped (one owner per data directory).
 */
async function main(): Promise<number> {
  const config = parseEnv(ReplayEnv, process.env);
  let values;
  try {
    ({ values } = parseArgs({ args: process.argv.slice(2), options: { incidents: { type: 'string' }, 'counts-cache': { type: 'string' } } }));
  } catch (error) {
    throw new ConfigError([(error as Error).message, USAGE]);
  }
  if (!values.incidents) throw new ConfigError(['--incidents FILE is required', USAGE]);
  let text: string;
  try {
    text = readFileSync(values.incidents, 'utf8');
  } catch (error) {
    throw new ConfigError([`--incidents ${values.incidents}: ${(error as Error).message}`]);
  }
  const incidents = parseIncidentsFile(text, values.incidents);
  const monitors = loadMonitors(config.ALERTER_MONITORS_FILE);
  const clickhouse = clickHouseFromEnv(config);
  try {
    const range = await touchpointTimeRange(clickhouse);
    if (range === null) throw new Error(`no touchpoints in ClickHouse (${clickhouse.database}): import the history first`);
    // --counts-cache: the counts read once per dataset, so replaying a detector change reads none (counts-cache.ts).
    const cacheFile = values['counts-cache'];
    const cache = cacheFile === undefined ? null : loadCountsCache(existsSync(cacheFile) ? readFileSync(cacheFile, 'utf8') : null, range);
    const clickhouseSource = createClickHouseWindowSource(clickhouse);
    const source = cache === null ? null : cachedWindowSource(clickhouseSource, cache);
    const result = await replayAlerts({
      source: source ?? clickhouseSource,
      monitors,
      from: range.from,
      to: range.to,
      onProgress: (done, total) => process.stderr.write(`\rreplaying windows: ${done.toLocaleString('en')}/${total.toLocaleString('en')}`),
    });
    process.stderr.write('\n');
    if (cache !== null && source !== null && cacheFile !== undefined && source.reads() > 0) writeFileSync(cacheFile, serializeCountsCache(cache));
    const score = scoreReplay(result.alerts, result.verdicts, monitors, incidents);
    process.stdout.write(renderReplayReport(score, { windows: result.windows, from: range.from, to: range.to, suppressed: result.suppressed, alerts: result.alerts }));
    return replayPassed(score) ? 0 : 1;
  } finally {
    await clickhouse.close();
  }
}

process.exitCode = await commandExitCode('replay-alerts', main, process.stderr);
