import { z } from 'zod';
import { parseConfigFile } from '../../../platform/config/yaml-file.js';
import type { BgNbdFit, BgNbdParams } from './bgnbd.js';

const positive = z.number().positive();

/** The parameters file the fit CLI writes and the stages service reads (`rules/bgnbd-params.json`). */
export const BgNbdParamsFileSchema = z.strictObject({
  r: positive,
  alpha: positive,
  a: positive,
  b: positive,
  /** ISO-8601 time of the fit. */
  fittedAt: z.string().min(1),
  customers: z.number().int().min(0),
  /** Length of one model time unit; t_x, T and α are in these units. */
  timeUnitDays: positive,
  source: z.string().optional(),
});
export type BgNbdParamsFile = z.output<typeof BgNbdParamsFileSchema>;

/** Fitted parameters with the time unit they were fitted in: scoring must use the same unit. */
export interface BgNbdModel extends BgNbdParams {
  timeUnitDays: number;
}

export function loadBgNbdParams(text: string, fileName: string): BgNbdModel {
  const f = parseConfigFile(text, fileName, BgNbdParamsFileSchema);
  return { r: f.r, alpha: f.alpha, a: f.a, b: f.b, timeUnitDays: f.timeUnitDays };
}

/** The file content for a fit (the caller supplies the clock reading). */
export function bgnbdParamsFile(fit: BgNbdFit, fittedAt: string, timeUnitDays: number): BgNbdParamsFile {
  return { ...fit.params, fittedAt, customers: fit.customers, timeUnitDays };
}
