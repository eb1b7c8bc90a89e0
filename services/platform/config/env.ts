import { z } from 'zod';

export class ConfigError extends Error {
  readonly retriable = false;
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once; every problem names the variable and what was wrong with it. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    const value = issue.path.length === 1 ? env[String(issue.path[0])] : undefined;
    return `${name}: ${issue.message}${value !== undefined ? ` (got ${JSON.stringify(value)})` : ''}`;
  });
  throw new ConfigError(problems);
}

/** "true"/"1"/"yes" and "false"/"0"/"no"; anything else is an error naming the variable. */
export const envBoolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
    .optional()
    .transform((v) => (v === undefined ? fallback : v === 'true' || v === '1' || v === 'yes'));

export const envInt = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected an integer between ${min} and ${max}` });
        return z.NEVER;
      }
      return n;
    });

const splitList = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);

export const envList = (fallback: string[]) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? fallback : splitList(v)));

/** A list whose default is not empty, where `none` means the empty list (unset or empty: the default). */
export const envListOrNone = (fallback: string[]) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? fallback : v.trim() === 'none' ? [] : splitList(v)));

const hostPort = /^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/;

/** The settings every service shares (see README, Configuration). */
export const commonEnv = {
  KAFKA_BROKERS: envList(['127.0.0.1:19092']).refine((l) => l.length > 0 && l.every((b) => hostPort.test(b)), {
    message: 'expected a comma-separated list of host:port',
  }),
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, . _ - only').default(''),
  KAFKA_PARTITIONS: envInt(4, 1, 1024),
  CLICKHOUSE_URL: z
    .string()
    .url('expected an http(s) URL, or unset for embedded ClickHouse')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a ClickHouse identifier').default('journey'),
  CLICKHOUSE_USER: z.string().optional(),
  CLICKHOUSE_PASSWORD: z.string().optional(),
  CLICKHOUSE_CLUSTER: z.string().regex(/^[A-Za-z0-9_.-]+$/).optional(),
  /** Consumer groups: a member silent this long is dropped and its partitions reassigned (README, Recovery). */
  KAFKA_SESSION_TIMEOUT_MS: envInt(6_000, 1_000, 1_800_000),
  KAFKA_HEARTBEAT_INTERVAL_MS: envInt(500, 50, 600_000),
  /** How long a rebalance waits for members to rejoin (a member mid-batch finishes it first). */
  KAFKA_REBALANCE_TIMEOUT_MS: envInt(30_000, 1_000, 1_800_000),
  /** A fetch is answered once this many bytes are there for the consumer, or after the wait below. */
  KAFKA_FETCH_MIN_BYTES: envInt(65_536, 1, 64 * 1024 * 1024),
  KAFKA_FETCH_MAX_WAIT_MS: envInt(50, 0, 60_000),
  /**
   * Static group membership (README, Recovery): this instance's stable name in its consumer groups,
   * unique per running instance (a pod or host name). Unset: dynamic membership.
   */
  KAFKA_GROUP_INSTANCE_ID: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'letters, digits, . _ - only').optional(),
  DATA_DIR: z.string().min(1).default('.data'),
  /** Forgotten ids a process keeps (README: Privacy: suppression list and replay guard), ~200 bytes each. */
  FORGOTTEN_IDS_MAX: envInt(1_000_000, 1, 50_000_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};
