// `npm run attribution -- --from 2026-11-01 --to 2026-12-01 [--site shop]`: the Markov attribution of
// the period's journeys, computed from ClickHouse and stored as a run in attribution_runs (the writer
// creates the table with its migrations; with embedded ClickHouse, run it while the pipeline is stopped).
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { clickHouseFromEnv } from '../platform/clickhouse/client.js';
import { ConfigError, parseEnv } from '../platform/config/env.js';
import { commandExitCode } from '../platform/runtime/run-command.js';
import { AttributionEnv } from './config.js';
import { runMarkovAttribution, type MarkovRun } from './markov-run.js';
import { parsePeriod } from './period.js';

const USAGE = 'usage: npm run attribution -- --from <ISO date or time> --to <ISO date or time> [--site <site>]';

function options() {
  try {
    const { values } = parseArgs({ args: process.argv.slice(2), options: { from: { type: 'string' }, to: { type: 'string' }, site: { type: 'string' } } });
    return { ...parsePeriod(values.from, values.to), site: values.site };
  } catch (error) {
    throw new ConfigError([(error as Error).message, USAGE]);
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function report(run: MarkovRun): string {
  const lines = [
    `Markov attribution ${run.runId} (${new Date(run.fromMs).toISOString()} .. ${new Date(run.toMs).toISOString()}, site ${run.site ?? 'all'}):`,
    `  ${run.totalConversions} converting and ${run.totalNulls} non-converting journeys on ${run.pathsUsed} distinct paths` +
      ` (${run.distinctPaths} in the period), ${run.unattributedConversions} conversions without a touch; walks of at most ${run.maxSteps} channels`,
    `  read in ${run.queryMs.toFixed(0)} ms, computed in ${run.computeMs.toFixed(1)} ms`,
    '  channel          conversions   share   removal effect',
    ...run.channels.map((c) => `  ${c.channel.padEnd(16)} ${c.conversions.toFixed(1).padStart(11)} ${pct(c.share).padStart(7)} ${pct(c.removalEffect).padStart(16)}`),
  ];
  return `${lines.join('\n')}\n`;
}

process.exitCode = await commandExitCode(
  'attribution',
  async () => {
    const config = parseEnv(AttributionEnv, process.env);
    const period = options();
    const clickhouse = clickHouseFromEnv(config);
    try {
      const run = await runMarkovAttribution(
        {
          fromMs: period.fromMs,
          toMs: period.toMs,
          site: period.site,
          conversionEvents: config.ATTRIBUTION_CONVERSION_EVENTS,
          conversionStages: config.ATTRIBUTION_CONVERSION_STAGES,
          ignoredChannels: config.ATTRIBUTION_IGNORED_CHANNELS,
          maxTouches: config.ATTRIBUTION_MAX_PATH_TOUCHES,
          maxPaths: config.ATTRIBUTION_MAX_PATHS,
        },
        { clickhouse, now: Date.now, newRunId: randomUUID },
      );
      process.stdout.write(report(run));
      return 0;
    } finally {
      await clickhouse.close();
    }
  },
  process.stderr,
);
