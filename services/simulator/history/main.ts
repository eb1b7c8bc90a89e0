import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, parseEnv } from '../../platform/config/env.js';
import { simulatorConfigFrom, SimulatorEnv } from '../config.js';
import { injectedIncidents, planHistoryIncidents } from './plan-incidents.js';
import { writeHistory } from './write-history.js';
import { commandExitCode } from '../../platform/runtime/run-command.js';

const USAGE = 'usage: npm run simulate -- --days 90 --customers 50000 --out history.jsonl.gz [--seed 42]';

/**
 * `npm run simulate`: history mode (README, "Load your history"). Writes the file, and beside it
 * `<file>.params.json` with the generating config (personas, rates, incidents, seed) and what came out;
 * its `incidents` are the injected ones on the history's clock, what `npm run replay-alerts` scores against.
 */
async function main(): Promise<number> {
  const env = parseEnv(SimulatorEnv, process.env);
  let values;
  try {
    ({ values } = parseArgs({ args: process.argv.slice(2), options: { days: { type: 'string', default: '90' }, customers: { type: 'string', default: '50000' }, out: { type: 'string' }, seed: { type: 'string' } } }));
  } catch (error) {
    throw new ConfigError([(error as Error).message, USAGE]);
  }
  const days = Number(values.days);
  const customers = Number(values.customers);
  if (!values.out) throw new ConfigError(['--out FILE is required', USAGE]);
  if (!(days > 0 && days <= 3_650) || !Number.isInteger(customers) || customers < 1) throw new ConfigError(['--days must be in (0, 3650] and --customers a positive integer', USAGE]);
  const seed = values.seed === undefined ? env.SIMULATOR_SEED : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new ConfigError(['--seed must be a non-negative integer', USAGE]);
  const configured = simulatorConfigFrom({ ...env, SIMULATOR_SEED: seed });
  // Repeat purchases run through the whole history, so a refit sees an uncensored BG/NBD process.
  const base = { ...configured, repeatPurchases: { ...configured.repeatPurchases, horizonDays: Math.max(configured.repeatPurchases.horizonDays, days) } };
  // Incidents from SIMULATOR_CONFIG_FILE win; otherwise the history gets seeded ones (plan-incidents.ts).
  const config = base.incidents.length > 0 ? base : { ...base, incidents: planHistoryIncidents(base, days) };
  const started = Date.now();
  // The history ends at the start of the current UTC day, so the same arguments on the same day give the same file.
  const endTime = Math.floor(started / 86_400_000) * 86_400_000;
  const summary = await writeHistory(config, { days, customers, endTime, out: values.out });
  writeFileSync(`${values.out}.params.json`, JSON.stringify({ days, customers, seed, ...summary, incidents: injectedIncidents(summary.stats.incidents, summary.startTime, summary.endTime), config }, null, 2));
  process.stdout.write(
    `${summary.file}: ${summary.calls.toLocaleString('en')} calls, ${summary.stats.journeys.toLocaleString('en')} journeys, ` +
      `${new Date(summary.startTime).toISOString()} to ${new Date(summary.endTime).toISOString()}, in ${((Date.now() - started) / 1000).toFixed(1)} s; parameters in ${values.out}.params.json\n`,
  );
  return 0;
}

process.exitCode = await commandExitCode('simulate', main, process.stderr);
