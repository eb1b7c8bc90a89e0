// `npm run fit-churn`: fits the BG/NBD churn model by maximum likelihood from the purchase history
// in ClickHouse and writes the parameters file the stages service loads (BGNBD_PARAMS_FILE).
// Restart the stages service (or every instance) to use the new parameters.
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { commonEnv, envInt, parseEnv } from '../platform/config/env.js';
import { clickHouseFromEnv } from '../platform/clickhouse/client.js';
import { runMain } from '../platform/runtime/run-main.js';
import { createLogger } from '../platform/logging/logger.js';
import { bgnbdParamsFile } from './stages/churn/bgnbd-params.js';
import { DEFAULT_PURCHASE_EVENTS, refitBgNbd } from './refit-bgnbd.js';

const FitEnv = z.object({
  ...commonEnv,
  BGNBD_PARAMS_FILE: z.string().default('services/sessionizer/rules/bgnbd-params.json'),
  FIT_TIME_UNIT_DAYS: envInt(7, 1, 365),
  /** The purchase event names (the default rules' purchase events). */
  FIT_PURCHASE_EVENTS: z.string().default(DEFAULT_PURCHASE_EVENTS.join(',')),
});

await runMain(async () => {
  const config = parseEnv(FitEnv, process.env);
  const logger = createLogger('fit-churn', config.LOG_LEVEL);
  const clickhouse = clickHouseFromEnv(config);
  return {
    logger,
    shutdownTimeoutMs: 5_000,
    component: {
      name: 'fit-churn',
      async start() {
        const started = Date.now();
        const { fit, input } = await refitBgNbd(clickhouse.client, {
          database: config.CLICKHOUSE_DATABASE,
          events: config.FIT_PURCHASE_EVENTS.split(',').map((s) => s.trim()),
          timeUnitDays: config.FIT_TIME_UNIT_DAYS,
        });
        const file = bgnbdParamsFile(fit, new Date().toISOString(), config.FIT_TIME_UNIT_DAYS);
        writeFileSync(config.BGNBD_PARAMS_FILE, `${JSON.stringify({ ...file, source: `clickhouse ${config.CLICKHOUSE_DATABASE}.touchpoints` }, null, 2)}\n`);
        process.stdout.write(
          `fitted BG/NBD on ${fit.customers} customers in ${Date.now() - started} ms (skipped ${input.skipped.length}): ` +
            `${(['r', 'alpha', 'a', 'b'] as const).map((k) => `${k}=${fit.params[k].toFixed(4)}${fit.standardErrors ? ` (se ${fit.standardErrors[k].toFixed(4)})` : ''}`).join(' ')} → ${config.BGNBD_PARAMS_FILE}\n`,
        );
        await clickhouse.close();
        process.exit(0);
      },
      stop: () => clickhouse.close(),
      health: () => ({ ok: true }),
    },
  };
});
