import type { Touchpoint } from '../../../schemas/touchpoint.js';

/** What the funnel and transitions are broken down by; taken from the touchpoint that caused a stage entry. */
export interface Dimensions {
  site: string;
  channel: string;
  campaign: string | null;
  deviceType: string;
  segment: string | null;
}

export function dimensionsOf(tp: Touchpoint): Dimensions {
  return { site: tp.site, channel: tp.channel, campaign: tp.utmCampaign, deviceType: tp.deviceType, segment: tp.segment };
}

const NO_PROPERTIES: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * `properties` travels as a JSON string. A malformed or non-object value is treated as no
 * properties: the collector already accepted the touchpoint, and stage rules on other fields
 * should still apply.
 */
export function parseProperties(json: string): Readonly<Record<string, unknown>> {
  if (json === '' || json === '{}') return NO_PROPERTIES;
  try {
    const v: unknown = JSON.parse(json);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : NO_PROPERTIES;
  } catch {
    return NO_PROPERTIES;
  }
}

/** The page path: the touchpoint field, else `properties.path` (page calls carry it there), without query or hash. */
export function pagePath(tp: Touchpoint, properties: Readonly<Record<string, unknown>>): string | null {
  const raw = tp.path ?? (typeof properties.path === 'string' ? properties.path : null);
  if (raw === null || raw === '') return null;
  const cut = raw.search(/[?#]/);
  return cut === -1 ? raw : raw.slice(0, cut);
}

/** Prefix match on whole path segments: `/blog` matches `/blog` and `/blog/x`, not `/blogger`. */
export function pathHasPrefix(path: string, prefix: string): boolean {
  if (prefix === '/' || prefix.endsWith('/')) return path.startsWith(prefix);
  return path === prefix || path.startsWith(`${prefix}/`);
}
