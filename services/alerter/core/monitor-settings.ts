import { z } from 'zod';

/** Placeholders a dashboard URL template may use; values are URL-encoded when rendered. */
export const DASHBOARD_PLACEHOLDERS = ['monitor', 'site', 'step', 'since', 'at', 'from', 'to', 'breakdown'] as const;

const dashboardUrlTemplate = z
  .string()
  .min(1)
  .superRefine((template, ctx) => {
    for (const match of template.matchAll(/\{([^}]*)\}/g)) {
      const name = match[1] ?? '';
      if (!(DASHBOARD_PLACEHOLDERS as readonly string[]).includes(name)) {
        ctx.addIssue({ code: 'custom', message: `unknown placeholder {${name}}; use ${DASHBOARD_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}` });
      }
    }
  });

export const BaselineSettings = z.strictObject({
  /** `sameWindowLastWeek` uses the window's `lastWeek` counts when they pass minSample, else the EWMA. */
  kind: z.enum(['ewma', 'sameWindowLastWeek']),
  halfLifeWindows: z.number().positive().max(100_000),
});
export type BaselineSettings = z.infer<typeof BaselineSettings>;

const settingsShape = {
  /** 1–5 for live traffic; up to a day for a sparse site's history (`monitors.history.yaml`). */
  windowMinutes: z.number().int().min(1).max(1440),
  /**
   * Minutes between window starts; absent = windowMinutes (windows side by side). Shorter: windows
   * overlap (hourly windows every 15 minutes), so a short drop is judged on a window that holds all
   * of it rather than on two that each hold part. Must divide windowMinutes; overlapping windows
   * allow evidenceWindows 1 only (summing overlapping windows would count events twice), and every
   * `*Windows` setting counts steps.
   */
  stepMinutes: z.number().int().min(1).max(1440).optional(),
  /** Trials a window needs for a verdict (volume: expected events), and trials the baseline needs. */
  minSample: z.number().int().min(1),
  baseline: BaselineSettings,
  /** Conversion monitors only; volume monitors always test square-root counts. */
  test: z.enum(['twoProportionZ', 'wilson']),
  /** z threshold. One-sided P(Z > 3.5) ≈ 2.3e-4, P(Z > 4) ≈ 3.2e-5 per test. */
  significance: z.number().positive().max(20),
  minRelativeDrop: z.number().min(0).lt(1),
  /** Windows of evidence tested together while not firing (1 = each window alone, 2 = also the last two summed). */
  evidenceWindows: z.number().int().min(1).max(4),
  /** Consecutive anomalous windows before firing (1 = fire on the first). */
  forWindows: z.number().int().min(1).max(60),
  /** Consecutive normal windows before a firing alert resolves. */
  keepFiringForWindows: z.number().int().min(1).max(288),
  /** Windows after a resolution during which the series cannot fire again. */
  cooldownWindows: z.number().int().min(0).max(2016),
  /** Windows of baseline history a series needs before it gives verdicts. */
  warmupWindows: z.number().int().min(0).max(2016),
  /** Half-life of the overdispersion estimate (EWMA of squared z of normal windows); 0 assumes pure binomial/Poisson noise. */
  dispersionHalfLifeWindows: z.number().min(0).max(100_000),
  /** A drop that lasts this long is accepted as the new level: the alert resolves and the baseline restarts. */
  acceptNewLevelAfterWindows: z.number().int().min(1),
  /** Breakdown values tracked as their own series per dimension (the busiest first); the rest only feed the hint. */
  maxBreakdownValues: z.number().int().min(0).max(1000),
  dashboardUrl: dashboardUrlTemplate,
};

export const MonitorSettings = z.strictObject(settingsShape);
export type MonitorSettings = z.infer<typeof MonitorSettings>;

/** What a `defaults:` block or a monitor may override; `baseline` merges field by field. */
export const SettingsOverrides = MonitorSettings.partial().extend({ baseline: BaselineSettings.partial().optional() });
export type SettingsOverrides = z.infer<typeof SettingsOverrides>;

/**
 * Built-in defaults, tuned with tests/bench/alerting.bench.ts (5-minute windows, EWMA half-life of
 * 2 hours). z ≥ 3.5 on the window alone or on the last two windows summed, after dividing out the
 * measured overdispersion, kept false alarms at ≤ 0.2 per 1,000 evaluations on the bench's stationary traffic.
 */
export const DEFAULT_SETTINGS: MonitorSettings = {
  windowMinutes: 5,
  minSample: 100,
  baseline: { kind: 'ewma', halfLifeWindows: 24 },
  test: 'twoProportionZ',
  significance: 3.5,
  minRelativeDrop: 0.15,
  evidenceWindows: 2,
  forWindows: 1,
  keepFiringForWindows: 3,
  cooldownWindows: 6,
  warmupWindows: 12,
  dispersionHalfLifeWindows: 96,
  acceptNewLevelAfterWindows: 288,
  maxBreakdownValues: 50,
  dashboardUrl: 'http://localhost:3000/dashboard/funnel?site={site}&monitor={monitor}&from={from}&to={to}',
};

/** Later overrides win; `baseline` is merged field by field. */
export function mergeSettings(base: MonitorSettings, ...overrides: Array<SettingsOverrides | undefined>): MonitorSettings {
  let merged = base;
  for (const o of overrides) {
    if (o === undefined) continue;
    const defined = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<MonitorSettings>;
    merged = { ...merged, ...defined, baseline: { ...merged.baseline, ...(o.baseline ?? {}) } as BaselineSettings };
  }
  return merged;
}
