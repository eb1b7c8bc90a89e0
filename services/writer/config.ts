import { z } from 'zod';
import { commonEnv, envInt } from '../platform/config/env.js';
import { parseRetention } from '../platform/clickhouse/retention.js';

export const WriterEnv = z.object({
  ...commonEnv,
  WRITER_GROUP_ID: z.string().min(1).default('journey-writer'),
  /** Records one table holds at most (buffered + being inserted); a block is cut at half of it (10,000). */
  WRITER_MAX_BUFFER_ROWS: envInt(20_000, 2, 1_000_000),
  WRITER_MAX_ROWS_PER_INSERT: envInt(100_000, 1, 10_000_000),
  /** ...or when its oldest record has waited this long. */
  WRITER_FLUSH_INTERVAL_MS: envInt(500, 10, 60_000),
  /** ...for every table but touchpoints (sessions, stage transitions, funnel, churn, ...): fewer, larger inserts (service.ts). */
  WRITER_DERIVED_FLUSH_INTERVAL_MS: envInt(2_000, 10, 60_000),
  /** How long a writer holding only some partitions of an interrupted block waits for the others. */
  WRITER_REPLAY_WAIT_MS: envInt(10_000, 0, 600_000),
  /** At most ~68 years: received_at + TTL must stay inside DateTime (2106), or ClickHouse drops every row at insert. */
  TOUCHPOINT_TTL_DAYS: envInt(395, 1, 25_000),
  /**
   * Retention per table, `table=days,...` (0 = for ever), applied at every start after the
   * migrations when it differs from the table's (docs/clickhouse.md, Retention); unlisted tables keep theirs.
   */
  CLICKHOUSE_TTL_DAYS: z
    .string()
    .default('')
    .transform((spec, ctx) => {
      try {
        return parseRetention(spec);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /** How often the deletion executor looks for pending deletions (README: Privacy). */
  WRITER_DELETIONS_POLL_MS: envInt(2_000, 50, 600_000),
  /** How long a deletion waits for the pipeline to pass its records before it erases anyway. */
  WRITER_DELETION_SETTLE_TIMEOUT_MS: envInt(120_000, 0, 3_600_000),
  /** The sessionizer's group id (SESSIONIZER_GROUP_ID): a deletion waits for its router and journey step. */
  WRITER_SESSIONIZER_GROUP_ID: z.string().min(1).default('journey-sessionizer'),
  WRITER_HTTP_PORT: envInt(8082, 0, 65_535),
  HTTP_HOST: z.string().default('127.0.0.1'),
});
export type WriterConfig = z.infer<typeof WriterEnv>;
