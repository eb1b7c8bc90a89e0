import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EVENTS } from '../../../schemas/event-names.js';
import { ConfigFileError } from '../../platform/config/yaml-file.js';
import { DEFAULT_SETTINGS, monitorAppliesToSite, parseMonitors, type ConversionMonitor } from './monitors.js';

const DEFAULT_FILE = fileURLToPath(new URL('../monitors.default.yaml', import.meta.url));
const defaultSource = readFileSync(DEFAULT_FILE, 'utf8');

/** The error a bad file raises, so tests can look at where it points. */
function configError(source: string, file = 'monitors.yaml'): ConfigFileError {
  try {
    parseMonitors(source, file);
  } catch (e) {
    if (e instanceof ConfigFileError) return e;
    throw e;
  }
  throw new Error('expected the file to be rejected');
}

const minimal = (monitor: string) => `version: 1\nmonitors:\n${monitor}`;

describe('default monitors file', () => {
  const monitors = parseMonitors(defaultSource, DEFAULT_FILE);

  it('expands into one monitor per consecutive stage, funnel step and source', () => {
    expect(monitors.map((m) => m.id)).toEqual([
      'stage-conversion:awareness-to-consideration',
      'stage-conversion:consideration-to-purchase',
      'stage-conversion:purchase-to-retention',
      'stage-conversion:retention-to-advocacy',
      'checkout-funnel:product-viewed-to-product-added',
      'checkout-funnel:product-added-to-checkout-started',
      'checkout-funnel:checkout-started-to-order-completed',
      'tracking-volume:web',
      'tracking-volume:ios',
      'tracking-volume:android',
      'tracking-volume:server',
    ]);
    expect(monitors.find((m) => m.id === 'stage-conversion:awareness-to-consideration')).toMatchObject({
      kind: 'stage',
      from: 'awareness',
      to: 'consideration',
      step: 'awareness → consideration',
      breakdowns: ['channel', 'deviceType', 'campaign'],
    });
  });

  it('names funnel steps from the shared event vocabulary', () => {
    const known = new Set<string>(Object.values(EVENTS));
    for (const m of monitors.filter((m): m is ConversionMonitor => m.kind === 'funnel')) {
      expect(known.has(m.from) && known.has(m.to)).toBe(true);
    }
  });

  it('spells out the same defaults the code ships with', () => {
    expect(parse(defaultSource).defaults).toEqual(DEFAULT_SETTINGS);
  });

  it('lets a monitor override single baseline fields and keeps the rest', () => {
    const volume = monitors.find((m) => m.id === 'tracking-volume:web')!;
    expect(volume.settings).toMatchObject({ minSample: 50, significance: 5, baseline: { kind: 'sameWindowLastWeek', halfLifeWindows: 6 }, windowMinutes: 5 });
    const merged = parseMonitors(minimal('  - id: a\n    kind: funnel\n    steps: [A, B]\n    baseline: { halfLifeWindows: 6 }\n'), 'm.yaml');
    expect(merged[0]!.settings.baseline).toEqual({ kind: 'ewma', halfLifeWindows: 6 });
    expect(merged[0]!.settings.significance).toBe(DEFAULT_SETTINGS.significance);
  });

  it('applies a monitor to every site unless sites are listed', () => {
    const [all] = monitors;
    expect(monitorAppliesToSite(all!, 'any.example')).toBe(true);
    const [listed] = parseMonitors(minimal('  - id: a\n    kind: funnel\n    steps: [A, B]\n    sites: [shop.example]\n'), 'm.yaml');
    expect(monitorAppliesToSite(listed!, 'shop.example')).toBe(true);
    expect(monitorAppliesToSite(listed!, 'blog.example')).toBe(false);
  });
});

describe('site-wide volume monitors', () => {
  it('counts the sources of a combineSources entry together: one monitor named by the entry, stepping as set', () => {
    const monitors = parseMonitors(
      minimal(
        '  - id: tracking\n    kind: volume\n    sources: [web, ios]\n' +
          '  - id: site-volume\n    kind: volume\n    sources: [web, ios, android]\n    combineSources: true\n    windowMinutes: 60\n    stepMinutes: 15\n    evidenceWindows: 1\n',
      ),
      'm.yaml',
    );
    expect(monitors.map((m) => [m.id, m.kind === 'volume' ? m.sources : null, m.step])).toEqual([
      ['tracking:web', ['web'], 'events from web'],
      ['tracking:ios', ['ios'], 'events from ios'],
      ['site-volume', ['web', 'ios', 'android'], 'events from web, ios, android'],
    ]);
    expect(monitors[0]!.settings.stepMinutes).toBeUndefined();
    expect(monitors[2]!.settings).toMatchObject({ windowMinutes: 60, stepMinutes: 15 });
  });

  it('lists on each per-source monitor the combined monitors counting its source, whose incident holds back its page', () => {
    const monitors = parseMonitors(
      minimal(
        '  - id: tracking\n    kind: volume\n    sources: [web, ios, server]\n' +
          '  - id: site-volume\n    kind: volume\n    sources: [web, ios]\n    combineSources: true\n' +
          '  - id: app-volume\n    kind: volume\n    sources: [ios]\n    combineSources: true\n',
      ),
      'm.yaml',
    );
    expect(monitors.map((m) => [m.id, m.kind === 'volume' ? m.coveredBy : null])).toEqual([
      ['tracking:web', ['site-volume']],
      ['tracking:ios', ['site-volume', 'app-volume']],
      ['tracking:server', undefined],
      ['site-volume', undefined],
      ['app-volume', undefined],
    ]);
  });

  it('rejects a step that does not divide the window, and overlapping windows with multi-window evidence', () => {
    const entry = (extra: string) => minimal(`  - id: a\n    kind: volume\n    sources: [web]\n    windowMinutes: 60\n${extra}`);
    expect(configError(entry('    stepMinutes: 25\n    evidenceWindows: 1\n')).problems).toEqual([
      expect.objectContaining({ line: 3, path: 'monitors[0]', message: 'stepMinutes 25 does not divide windowMinutes 60' }),
    ]);
    // evidenceWindows 2 comes from the built-in defaults: summing overlapping windows would count events twice.
    expect(configError(entry('    stepMinutes: 15\n')).problems).toEqual([
      expect.objectContaining({ path: 'monitors[0]', message: 'overlapping windows (stepMinutes below windowMinutes) need evidenceWindows: 1' }),
    ]);
    expect(parseMonitors(entry('    stepMinutes: 60\n'), 'm.yaml')[0]!.settings.stepMinutes).toBe(60);
    // An out-of-range step is its own field's problem, reported once.
    expect(configError(entry('    stepMinutes: 0\n    evidenceWindows: 1\n')).problems.map((p) => p.path)).toEqual(['monitors[0].stepMinutes']);
  });
});

describe('monitor config errors name the file and the line', () => {
  it('points at a misspelt setting', () => {
    const error = configError(minimal('  - id: a\n    kind: funnel\n    steps: [A, B]\n    windowMinute: 3\n'));
    expect(error.retriable).toBe(false);
    expect(error.problems).toEqual([{ line: 6, column: 5, path: 'monitors[0].windowMinute', message: 'Unrecognized key: "windowMinute"' }]);
    expect(error.message).toContain('monitors.yaml:6:5: monitors[0].windowMinute');
  });

  it('points at every out-of-range value, in defaults and in monitors', () => {
    const error = configError('version: 1\ndefaults:\n  significance: -1\nmonitors:\n  - id: a\n    kind: funnel\n    steps: [A, B]\n    windowMinutes: 2000\n');
    expect(error.problems.map((p) => [p.line, p.path])).toEqual([
      [3, 'defaults.significance'],
      [8, 'monitors[0].windowMinutes'],
    ]);
  });

  it('points at a stage that does not follow the previous one', () => {
    const error = configError(minimal('  - id: a\n    kind: stage\n    stages:\n      - awareness\n      - purchase\n'));
    expect(error.problems).toEqual([expect.objectContaining({ line: 7, path: 'monitors[0].stages[1]', message: '"purchase" does not directly follow "awareness"' })]);
  });

  it('points at a duplicate monitor id and an unknown kind', () => {
    const duplicate = configError(minimal('  - id: a\n    kind: funnel\n    steps: [A, B]\n  - id: a\n    kind: volume\n    sources: [web]\n'));
    expect(duplicate.problems).toEqual([expect.objectContaining({ line: 6, path: 'monitors[1].id' })]);
    const unknown = configError(minimal('  - id: a\n    kind: funel\n    steps: [A, B]\n'));
    expect(unknown.problems).toEqual([expect.objectContaining({ line: 4, path: 'monitors[0].kind' })]);
  });

  it('rejects unknown dashboard URL placeholders', () => {
    const error = configError(minimal('  - id: a\n    kind: volume\n    sources: [web]\n    dashboardUrl: "http://x/{sitee}"\n'));
    expect(error.problems[0]).toMatchObject({ line: 6, path: 'monitors[0].dashboardUrl' });
    expect(error.problems[0]!.message).toContain('{sitee}');
  });

  it('reports YAML syntax errors with their line', () => {
    const error = configError('version: 1\nmonitors:\n  - id: a\n    kind: [funnel\n');
    expect(error.problems[0]!.line).toBeGreaterThanOrEqual(4);
    expect(error.message).toMatch(/^monitors\.yaml:\d+:\d+: /);
  });

  it('reads JSON too and points into it', () => {
    const json = '{\n  "version": 1,\n  "monitors": [\n    { "id": "a", "kind": "funnel", "steps": ["A", "B"], "minRelativeDrop": 2 }\n  ]\n}\n';
    const error = configError(json, 'monitors.json');
    expect(error.problems).toEqual([expect.objectContaining({ line: 4, path: 'monitors[0].minRelativeDrop' })]);
    expect(error.message).toContain('monitors.json:4:');
    expect(parseMonitors(json.replace('"minRelativeDrop": 2', '"minRelativeDrop": 0.2'), 'monitors.json')[0]!.settings.minRelativeDrop).toBe(0.2);
  });
});
