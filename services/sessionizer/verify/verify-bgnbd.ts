import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { refitBgNbd, type RefitOptions } from '../refit-bgnbd.js';
import type { BgNbdFit, BgNbdParams } from '../stages/churn/bgnbd.js';
import { parseConfigFile } from '../../platform/config/yaml-file.js';

/**
 * The band: a fitted parameter passes when it lies within this many of its standard errors of the
 * generating value. Four parameters are checked at once: with 2 standard errors a faithful
 * simulation and fit would still fail up to one run in six (4.6% per parameter), with 3 about one
 * in a hundred (0.27% each), while a wrong process (the old geometric repeats, a wrong time unit,
 * purchases lost on the way) misses by many standard errors.
 */
export const BAND_STANDARD_ERRORS = 3;

const PARAMETERS = ['r', 'alpha', 'a', 'b'] as const;

/** The part of a simulator's `<history>.params.json` the check needs: the generating BG/NBD process. */
const GeneratingParamsFile = z.object({
  config: z.object({
    repeatPurchases: z.object({
      r: z.number().positive(),
      alpha: z.number().positive(),
      a: z.number().positive(),
      b: z.number().positive(),
      timeUnitDays: z.number().positive(),
    }),
  }),
});

export interface GeneratingBgNbd {
  params: BgNbdParams;
  timeUnitDays: number;
}

export function generatingBgNbd(text: string, fileName: string): GeneratingBgNbd {
  const { r, alpha, a, b, timeUnitDays } = parseConfigFile(text, fileName, GeneratingParamsFile).config.repeatPurchases;
  return { params: { r, alpha, a, b }, timeUnitDays };
}

export interface ParameterCheck {
  name: (typeof PARAMETERS)[number];
  generating: number;
  fitted: number;
  /** null when the fit has no standard errors (singular information): the check fails. */
  standardError: number | null;
  /** (fitted − generating) / standard error. */
  z: number | null;
  within: boolean;
}

export interface BgNbdReport {
  customers: number;
  skipped: number;
  band: number;
  parameters: ParameterCheck[];
  ok: boolean;
}

/** Fitted against generating parameters, each within `band` standard errors. */
export function compareBgNbd(fit: BgNbdFit, generating: BgNbdParams, skipped = 0, band = BAND_STANDARD_ERRORS): BgNbdReport {
  const parameters = PARAMETERS.map((name): ParameterCheck => {
    const fitted = fit.params[name];
    const standardError = fit.standardErrors?.[name] ?? null;
    const z = standardError === null ? null : (fitted - generating[name]) / standardError;
    return { name, generating: generating[name], fitted, standardError, z, within: z !== null && Math.abs(z) <= band };
  });
  return { customers: fit.customers, skipped, band, parameters, ok: parameters.every((p) => p.within) };
}

/** Refits from ClickHouse in the simulator's time unit and compares. */
export async function verifyBgNbd(client: ClickHouseClient, generating: GeneratingBgNbd, o: Omit<RefitOptions, 'timeUnitDays'>): Promise<BgNbdReport> {
  const { fit, input } = await refitBgNbd(client, { ...o, timeUnitDays: generating.timeUnitDays });
  return compareBgNbd(fit, generating.params, input.skipped.length);
}

/** The report as `verify` prints it: one line, then one per parameter. */
export function formatBgNbdReport(r: BgNbdReport, timeUnitDays: number): string {
  const lines = [
    `BG/NBD refit: ${r.customers.toLocaleString('en')} customers with a purchase (${r.skipped} skipped), time unit ${timeUnitDays} days, band ±${r.band} standard errors: ${r.ok ? 'recovered' : 'NOT recovered'}`,
    ...r.parameters.map(
      (p) =>
        `  ${p.name.padEnd(5)} generating ${fmt(p.generating)}  fitted ${fmt(p.fitted)} ± ${p.standardError === null ? 'n/a' : fmt(p.standardError)}  ` +
        `${p.z === null ? 'no standard error' : `${p.z >= 0 ? '+' : ''}${p.z.toFixed(2)} se`}  ${p.within ? 'ok' : 'OUTSIDE'}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

const fmt = (v: number) => v.toPrecision(4).padStart(8);
