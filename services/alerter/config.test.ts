import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from '../platform/config/env.js';
import { AlerterEnv, loadMonitors, rebaseDashboardUrl } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'alerter-config-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('alerter configuration', () => {
  it('loads the default monitors file', () => {
    const config = parseEnv(AlerterEnv, {});
    expect(config.ALERTER_WEBHOOK_FORMAT).toBe('json');
    expect(config.ALERTER_LATENESS_MS).toBe(30_000);
    expect(loadMonitors(config.ALERTER_MONITORS_FILE).length).toBeGreaterThan(5);
  });

  it('stops the start with a ConfigError naming the monitors file and the line of the problem', () => {
    const path = file('bad.yaml', 'version: 1\nmonitors:\n  - id: a\n    kind: stage\n    stages: [awareness, purchase]\n');
    let error: unknown;
    try {
      loadMonitors(path);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(`ALERTER_MONITORS_FILE ${path}:5:`);
    expect((error as ConfigError).message).toContain('does not directly follow');
  });

  it('reports a missing monitors file as a ConfigError', () => {
    expect(() => loadMonitors(join(dir, 'missing.yaml'))).toThrow(ConfigError);
  });

  it('rejects a webhook URL that is not http(s) and names the variable', () => {
    expect(() => parseEnv(AlerterEnv, { ALERTER_WEBHOOK_URL: 'ftp://x' })).toThrow(/ALERTER_WEBHOOK_URL/);
    expect(() => parseEnv(AlerterEnv, { ALERTER_WEBHOOK_FORMAT: 'teams' })).toThrow(/ALERTER_WEBHOOK_FORMAT/);
  });

  it('turns the churn hand-off on with CHURN_WEBHOOK_URL alone and checks its limits', () => {
    const off = parseEnv(AlerterEnv, {});
    expect(off.CHURN_WEBHOOK_URL).toBeUndefined();
    expect([off.CHURN_WEBHOOK_MAX_QUEUE, off.CHURN_WEBHOOK_MAX_ATTEMPTS, off.CHURN_WEBHOOK_TIMEOUT_MS]).toEqual([1_000, 8, 10_000]);
    expect(parseEnv(AlerterEnv, { CHURN_WEBHOOK_URL: '' }).CHURN_WEBHOOK_URL).toBeUndefined();
    expect(parseEnv(AlerterEnv, { CHURN_WEBHOOK_URL: 'https://crm.example.com/hooks/churn', CHURN_WEBHOOK_MAX_QUEUE: '50' })).toMatchObject({
      CHURN_WEBHOOK_URL: 'https://crm.example.com/hooks/churn',
      CHURN_WEBHOOK_MAX_QUEUE: 50,
    });
    expect(() => parseEnv(AlerterEnv, { CHURN_WEBHOOK_URL: 'ftp://x' })).toThrow(/CHURN_WEBHOOK_URL/);
    expect(() => parseEnv(AlerterEnv, { CHURN_WEBHOOK_MAX_QUEUE: '0' })).toThrow(/CHURN_WEBHOOK_MAX_QUEUE/);
  });

  it('puts dashboard links on the configured base, keeping path, query and placeholders', () => {
    const template = 'http://localhost:3000/dashboard/funnel?site={site}&from={from}';
    expect(rebaseDashboardUrl(template, 'https://journey.example.com/')).toBe('https://journey.example.com/dashboard/funnel?site={site}&from={from}');
    expect(rebaseDashboardUrl('/?site={site}', 'http://127.0.0.1:8081')).toBe('http://127.0.0.1:8081/?site={site}');
    const path = file('ok.yaml', 'version: 1\nmonitors:\n  - id: v\n    kind: volume\n    sources: [web]\n');
    const [monitor] = loadMonitors(path, 'https://ops.example.com/journey');
    expect(monitor!.settings.dashboardUrl).toBe('https://ops.example.com/journey/dashboard/funnel?site={site}&monitor={monitor}&from={from}&to={to}');
  });
});
