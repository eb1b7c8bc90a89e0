import { z } from 'zod';
import { parseConfigFile } from '../../platform/config/yaml-file.js';
import { Stage, stageRank } from '../../../schemas/journey.js';
import { DEFAULT_SETTINGS, mergeSettings, SettingsOverrides, type MonitorSettings } from './monitor-settings.js';

export { DEFAULT_SETTINGS, MonitorSettings, SettingsOverrides, mergeSettings } from './monitor-settings.js';

export const BREAKDOWN_DIMENSIONS = ['channel', 'deviceType', 'campaign'] as const;
export const BreakdownDimension = z.enum(BREAKDOWN_DIMENSIONS);
export type BreakdownDimension = z.infer<typeof BreakdownDimension>;

/** Any site, including sites first seen after the monitor was loaded. */
export const ALL_SITES = '*';

const unique = <T>(items: T[]) => new Set(items).size === items.length;

const commonFields = {
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  description: z.string().optional(),
  sites: z.array(z.string().min(1)).min(1).default([ALL_SITES]),
  breakdowns: z.array(BreakdownDimension).refine(unique, 'each breakdown once').default([]),
  ...SettingsOverrides.shape,
};

/** Conversion between consecutive journey stages, e.g. awareness → consideration → purchase. */
const StageMonitorSpec = z.strictObject({ kind: z.literal('stage'), stages: z.array(Stage).min(2), ...commonFields });
/** Conversion between consecutive event steps, e.g. Product Viewed → Product Added. */
const FunnelMonitorSpec = z.strictObject({
  kind: z.literal('funnel'),
  steps: z.array(z.string().min(1)).min(2).refine(unique, 'each step once'),
  ...commonFields,
});
/**
 * Events per window per source (web, ios, server…): catches broken tracking. `combineSources: true`
 * makes it one monitor counting the listed sources together (per site: the sources it has), which
 * catches a whole site's stop sooner than any one of its sources can (docs/alerting.md, "Monitors").
 */
const VolumeMonitorSpec = z.strictObject({
  kind: z.literal('volume'),
  sources: z.array(z.string().min(1)).min(1).refine(unique, 'each source once'),
  combineSources: z.boolean().default(false),
  ...commonFields,
});

export const MonitorSpec = z.discriminatedUnion('kind', [StageMonitorSpec, FunnelMonitorSpec, VolumeMonitorSpec]);
export type MonitorSpec = z.infer<typeof MonitorSpec>;

export const MonitorsFile = z
  .strictObject({
    version: z.literal(1),
    defaults: SettingsOverrides.optional(),
    monitors: z.array(MonitorSpec).min(1),
  })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.monitors.forEach((m, i) => {
      if (seen.has(m.id)) ctx.addIssue({ code: 'custom', path: ['monitors', i, 'id'], message: `duplicate monitor id "${m.id}"` });
      seen.add(m.id);
      // Read field by field: this runs on files with other problems too, which must be reported, not thrown.
      const setting = <K extends 'windowMinutes' | 'stepMinutes' | 'evidenceWindows'>(k: K) => m[k] ?? file.defaults?.[k] ?? DEFAULT_SETTINGS[k];
      const windowMinutes = setting('windowMinutes');
      const step = setting('stepMinutes') ?? windowMinutes;
      if (!Number.isInteger(windowMinutes) || !Number.isInteger(step) || step < 1) {
        // Already reported as the field's own problem.
      } else if (windowMinutes % step !== 0) {
        ctx.addIssue({ code: 'custom', path: ['monitors', i], message: `stepMinutes ${step} does not divide windowMinutes ${windowMinutes}` });
      } else if (step < windowMinutes && setting('evidenceWindows') > 1) {
        ctx.addIssue({ code: 'custom', path: ['monitors', i], message: 'overlapping windows (stepMinutes below windowMinutes) need evidenceWindows: 1' });
      }
      if (m.kind !== 'stage') return;
      m.stages.forEach((stage, j) => {
        const previous = m.stages[j - 1];
        if (previous !== undefined && stageRank(stage) !== stageRank(previous) + 1) {
          ctx.addIssue({ code: 'custom', path: ['monitors', i, 'stages', j], message: `"${stage}" does not directly follow "${previous}"` });
        }
      });
    });
  });
export type MonitorsFile = z.infer<typeof MonitorsFile>;

interface MonitorBase {
  /** Unique per step: `<config id>:<from>-to-<to>` or `<config id>:<source>`. */
  readonly id: string;
  /** The `id` of the config entry this step came from. */
  readonly group: string;
  /** Human label of what is measured, used as AlertEvent.step. */
  readonly step: string;
  readonly sites: readonly string[];
  readonly breakdowns: readonly BreakdownDimension[];
  readonly settings: MonitorSettings;
}

/** A conversion rate between two consecutive steps: trials entered `from`, successes reached `to`. */
export interface ConversionMonitor extends MonitorBase {
  readonly kind: 'stage' | 'funnel';
  readonly from: string;
  readonly to: string;
}

/** Events per window from its sources counted together (one source unless `combineSources`): the count arrives in `trials`. */
export interface VolumeMonitor extends MonitorBase {
  readonly kind: 'volume';
  readonly sources: readonly string[];
  /**
   * Per-source monitors only: the combined (`combineSources`) monitors of the same file that count
   * this source too. While one of them is in an incident on a site, this monitor's page on that site
   * is held back: a whole-site stop pages once, not once per source (docs/alerting.md, "Grouping").
   * Absent or empty: pages on its own.
   */
  readonly coveredBy?: readonly string[];
}

export type Monitor = ConversionMonitor | VolumeMonitor;

export const isVolumeMonitor = (m: Monitor): m is VolumeMonitor => m.kind === 'volume';
/** The monitors whose incident on a site holds back this monitor's page there (`coveredBy`). */
export const coveringMonitors = (m: Monitor): readonly string[] => (isVolumeMonitor(m) ? (m.coveredBy ?? []) : []);
export const monitorAppliesToSite = (m: Monitor, site: string): boolean => m.sites.includes(ALL_SITES) || m.sites.includes(site);

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** The settings a monitor entry sets itself. */
const overridesOf = (spec: MonitorSpec): SettingsOverrides =>
  SettingsOverrides.parse(Object.fromEntries(Object.keys(SettingsOverrides.shape).map((k) => [k, spec[k as keyof typeof spec]])));

/** Minutes between window starts (`stepMinutes`, else windows side by side). */
export const stepMinutesOf = (settings: MonitorSettings): number => settings.stepMinutes ?? settings.windowMinutes;

/**
 * One monitor per consecutive pair (stage, funnel), per source (volume), or one for all its sources
 * (volume with `combineSources`, id = the entry's id), with settings resolved. A per-source volume
 * monitor lists the combined monitors that count its source in `coveredBy`.
 */
export function expandMonitors(file: MonitorsFile, base: MonitorSettings = DEFAULT_SETTINGS): Monitor[] {
  const defaults = mergeSettings(base, file.defaults);
  const combined = file.monitors.filter((spec) => spec.kind === 'volume' && spec.combineSources);
  return file.monitors.flatMap((spec): Monitor[] => {
    const { id, kind, sites, breakdowns } = spec;
    const settings = mergeSettings(defaults, overridesOf(spec));
    const common = { group: id, sites, breakdowns, settings };
    if (kind === 'volume' && spec.combineSources) return [{ ...common, kind, id, step: `events from ${spec.sources.join(', ')}`, sources: spec.sources }];
    if (kind === 'volume') {
      return spec.sources.map((source) => {
        const coveredBy = combined.filter((c) => c.kind === 'volume' && c.sources.includes(source)).map((c) => c.id);
        return { ...common, kind, id: `${id}:${slug(source)}`, step: `events from ${source}`, sources: [source], ...(coveredBy.length > 0 ? { coveredBy } : {}) };
      });
    }
    const steps: readonly string[] = kind === 'stage' ? spec.stages : spec.steps;
    return steps.slice(1).map((to, i) => {
      const from = steps[i] as string;
      return { ...common, kind, id: `${id}:${slug(from)}-to-${slug(to)}`, step: `${from} → ${to}`, from, to };
    });
  });
}

/**
 * Parses a monitors file (YAML, or JSON which is YAML too) and expands it into one monitor per
 * step. The caller reads the file; this stays pure so config errors are testable without disk.
 * A file that cannot be used throws a `ConfigFileError` naming the file, line and column of every problem.
 */
export function parseMonitors(source: string, file: string, base: MonitorSettings = DEFAULT_SETTINGS): Monitor[] {
  return expandMonitors(parseConfigFile(source, file, MonitorsFile), base);
}
