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
import { fitBgNbd } from './stages/churn/bgnbd.js';
import { observationsFromRows, type PurchaseSummaryRow } from './stages/churn/fit-input.js';

const FitEnv = z.object({
  ...commonEnv,
  BGNBD_PARAMS_FILE: z.string().default('services/sessionizer/rules/bgnbd-params.json'),
  FIT_TIME_UNIT_DAYS: envInt(7, 1, 365),
  /** The purchase event names (the default rules' purchase events). */
  FIT_PURCHASE_EVENTS: z.string().default('Order Completed,Contract Signed,Subscription Renewed'),
});

/** Distinct purchase days per customer; observed until the newest touchpoint in the table. */
const PURCHASE_SUMMARY_SQL = `
  SELECT customer_id,
         toUnixTimestamp64Milli(min(ts)) AS first_purchase,
         toUnixTimestamp64Milli(max(ts)) AS last_purchase,
         uniqExact(toDate(ts)) AS purchases,
         (SELECT toUnixTimestamp64Milli(max(ts)) FROM {db:Identifier}.touchpoints) AS observed_until
  FROM {db:Identifier}.touchpoints
  WHERE event IN {events:Array(String)}
  GROUP BY customer_id`;

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
        const rs = await clickhouse.client.query({
          query: PURCHASE_SUMMARY_SQL,
          query_params: { db: config.CLICKHOUSE_DATABASE, events: config.FIT_PURCHASE_EVENTS.split(',').map((s) => s.trim()) },
          format: 'JSONEachRow',
        });
        const rows = await rs.json<PurchaseSummaryRow>();
        const input = observationsFromRows(rows, config.FIT_TIME_UNIT_DAYS);
        if (input.observations.length < 10) throw new Error(`only ${input.observations.length} customers with purchases: too few to fit`);
        const fit = fitBgNbd(input.observations);
        const file = bgnbdParamsFile(fit, new Date().toISOString(), config.FIT_TIME_UNIT_DAYS);
        writeFileSync(config.BGNBD_PARAMS_FILE, `${JSON.stringify({ ...file, source: `clickhouse ${config.CLICKHOUSE_DATABASE}.touchpoints` }, null, 2)}\n`);
        process.stdout.write(
          `fitted BG/NBD on ${fit.customers} customers in ${Date.now() - started} ms (skipped ${input.skipped.length}): ` +
            `r=${fit.params.r.toFixed(4)} alpha=${fit.params.alpha.toFixed(4)} a=${fit.params.a.toFixed(4)} b=${fit.params.b.toFixed(4)} → ${config.BGNBD_PARAMS_FILE}\n`,
        );
        await clickhouse.close();
        process.exit(0);
      },
      stop: () => clickhouse.close(),
      health: () => ({ ok: true }),
    },
  };
});
