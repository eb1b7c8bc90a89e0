// `npm run forget -- --user-id X [--suppress] [--wait]` (or --anonymous-id, --email, --customer-id):
// records a deletion request in ClickHouse (`deletions`, pending); the writer executes it
// (README: Privacy). With --wait, polls until it is finished and prints what each table lost.
// Embedded ClickHouse allows one process per data directory: while `npm start` runs, use its
// POST /admin/v1/deletions instead (this command would find the engine's directory locked).
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { clickHouseFromEnv } from '../../platform/clickhouse/client.js';
import { ConfigError, commonEnv, envInt, parseEnv } from '../../platform/config/env.js';
import { DeletionAsk, type IdKind } from '../../platform/privacy/deletion-request.js';
import { deletionsTable } from '../../platform/privacy/deletions-table.js';
import { commandExitCode } from '../../platform/runtime/run-command.js';

const ForgetEnv = z.object({
  ...commonEnv,
  /** With --wait: give up (exit 1, the deletion stays pending and will still finish) after this long. */
  FORGET_WAIT_TIMEOUT_MS: envInt(600_000, 1_000, 86_400_000),
});

const FLAGS: Record<string, IdKind> = { 'user-id': 'userId', 'anonymous-id': 'anonymousId', email: 'email', 'customer-id': 'customerId' };
const USAGE = 'usage: npm run forget -- (--user-id X | --anonymous-id X | --email X | --customer-id u:X) [--suppress] [--wait]';

async function main(): Promise<number> {
  const config = parseEnv(ForgetEnv, process.env);
  const { values } = parseArgs({
    options: { 'user-id': { type: 'string' }, 'anonymous-id': { type: 'string' }, email: { type: 'string' }, 'customer-id': { type: 'string' }, suppress: { type: 'boolean' }, wait: { type: 'boolean' } },
    strict: true,
  });
  const given = Object.entries(FLAGS).filter(([flag]) => values[flag as keyof typeof values] !== undefined);
  if (given.length !== 1) throw new ConfigError([USAGE]);
  const [flag, kind] = given[0]!;
  const ask = DeletionAsk.safeParse({ kind, id: values[flag as keyof typeof values], suppress: values.suppress ?? false, requestedBy: `cli:${userInfo().username}` });
  if (!ask.success) throw new ConfigError([`--${flag}: ${ask.error.issues[0]?.message}`]);
  const clickhouse = clickHouseFromEnv(config);
  try {
    const table = deletionsTable(clickhouse);
    const created = await table.request(ask.data, Date.now());
    process.stdout.write(`${created.deletionId} pending (${kind}${ask.data.suppress ? ', suppressed' : ''})\n`);
    if (!values.wait) return 0;
    const deadline = Date.now() + config.FORGET_WAIT_TIMEOUT_MS;
    for (;;) {
      const d = await table.read(created.deletionId);
      if (d !== null && d.status !== 'pending') {
        process.stdout.write(`${d.deletionId} ${d.status}: ${d.ids} linked ids, rows deleted ${JSON.stringify(d.deletedRows)}\n`);
        return 0;
      }
      if (Date.now() > deadline) {
        process.stderr.write(`${created.deletionId} still pending after ${config.FORGET_WAIT_TIMEOUT_MS} ms (is the writer running?)\n`);
        return 1;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await clickhouse.close();
  }
}

process.exitCode = await commandExitCode('forget', main, process.stderr);
