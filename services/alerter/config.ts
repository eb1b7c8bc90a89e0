import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { commonEnv, ConfigError, envInt } from '../platform/config/env.js';
import { ConfigFileError } from '../platform/config/yaml-file.js';
import { parseMonitors, type Monitor } from './core/monitors.js';

const optionalUrl = z
  .url({ protocol: /^https?$/, message: 'expected an http(s) URL' })
  .optional()
  .or(z.literal('').transform(() => undefined));

export const AlerterEnv = z.object({
  ...commonEnv,
  /** YAML (or JSON) monitors file; see docs/alerting.md. */
  ALERTER_MONITORS_FILE: z.string().min(1).default('services/alerter/monitors.default.yaml'),
  /** Where alerts are POSTed; unset = no webhook (alerts still go to the topic and ClickHouse). */
  ALERTER_WEBHOOK_URL: optionalUrl,
  ALERTER_WEBHOOK_FORMAT: z.enum(['json', 'slack']).default('json'),
  /** Base (scheme://host[:port][/prefix]) of dashboard links; unset = the monitors file's URLs as written. */
  ALERTER_DASHBOARD_URL: optionalUrl,
  ALERTER_EVALUATE_EVERY_MS: envInt(15_000, 100, 3_600_000),
  /** How long after a window closes before it is evaluated, so late events land first. */
  ALERTER_LATENESS_MS: envInt(30_000, 0, 6 * 3_600_000),
  /** Catch-up horizon after downtime (and the history a first start learns from). */
  ALERTER_MAX_CATCH_UP_MS: envInt(24 * 3_600_000, 0, 7 * 24 * 3_600_000),
  ALERTER_WEBHOOK_MAX_QUEUE: envInt(1_000, 1, 1_000_000),
  ALERTER_WEBHOOK_MAX_ATTEMPTS: envInt(8, 1, 100),
  ALERTER_HTTP_PORT: envInt(8085, 0, 65_535),
  /** Where churn alerts (`churn-alerts`) are POSTed for a CRM or support tool; unset = no churn hand-off. */
  CHURN_WEBHOOK_URL: optionalUrl,
  /** Deliveries waiting or in flight at most; a full queue pauses the hand-off's consumer (nothing is dropped). */
  CHURN_WEBHOOK_MAX_QUEUE: envInt(1_000, 1, 1_000_000),
  /** Attempts per churn alert before it goes to the dead-letter topic. */
  CHURN_WEBHOOK_MAX_ATTEMPTS: envInt(8, 1, 100),
  CHURN_WEBHOOK_TIMEOUT_MS: envInt(10_000, 100, 300_000),
  HTTP_HOST: z.string().default('127.0.0.1'),
});
export type AlerterConfig = z.infer<typeof AlerterEnv>;

/**
 * Puts the dashboard links on `base`: a template keeps its path and query (placeholders included)
 * and loses its own scheme and host. Relative templates ('/dashboard?…') are resolved the same way.
 */
export function rebaseDashboardUrl(template: string, base: string): string {
  const pathAndQuery = template.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  const prefix = base.replace(/\/+$/, '');
  return `${prefix}${pathAndQuery.startsWith('/') || pathAndQuery === '' ? '' : '/'}${pathAndQuery}`;
}

/**
 * Reads and parses the monitors file. An unreadable or invalid file stops the start with a
 * ConfigError whose every line names the file, line and column.
 */
export function loadMonitors(file: string, dashboardBase?: string): Monitor[] {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`ALERTER_MONITORS_FILE ${file}: ${(error as Error).message}`]);
  }
  let monitors: Monitor[];
  try {
    monitors = parseMonitors(source, file);
  } catch (error) {
    if (error instanceof ConfigFileError) {
      throw new ConfigError(error.problems.map((p) => `ALERTER_MONITORS_FILE ${file}:${p.line}:${p.column} ${p.path ? `${p.path}: ` : ''}${p.message}`));
    }
    throw error;
  }
  if (dashboardBase === undefined) return monitors;
  return monitors.map((m) => ({ ...m, settings: { ...m.settings, dashboardUrl: rebaseDashboardUrl(m.settings.dashboardUrl, dashboardBase) } }));
}
