import type { QueryParams } from './runner.js';

export interface DimensionFilter {
  site?: string | undefined;
  channel?: string | undefined;
  campaign?: string | undefined;
  device?: string | undefined;
  segment?: string | undefined;
}

/**
 * WHERE conditions for the dimension filters that are present. The SQL text depends only on which
 * filters are present (fixed fragments); every value is a bound `{name:String}` parameter.
 * `columns` maps a filter to its column where a table names it differently.
 */
export function dimensionConditions(
  filter: DimensionFilter,
  columns: Partial<Record<keyof DimensionFilter, string>> = {},
): { conditions: string[]; params: QueryParams } {
  const column: Record<keyof DimensionFilter, string> = {
    site: 'site',
    channel: 'channel',
    campaign: 'campaign',
    device: 'device_type',
    segment: 'segment',
    ...columns,
  };
  const conditions: string[] = [];
  const params: QueryParams = {};
  for (const key of ['site', 'channel', 'campaign', 'device', 'segment'] as const) {
    const value = filter[key];
    if (value === undefined) continue;
    conditions.push(`${column[key]} = {${key}:String}`);
    params[key] = value;
  }
  return { conditions, params };
}

export const and = (conditions: string[]): string => (conditions.length === 0 ? '1' : conditions.join('\n  AND '));

/** Rates as plain numbers, null when there is nothing to divide by. */
export const rate = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);
