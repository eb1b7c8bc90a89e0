import type { Touchpoint } from '../../../schemas/touchpoint.js';

/** What the funnel and transitions are broken down by; taken from the touchpoint that caused a stage entry. */
export interface Dimensions {
  site: string;
  channel: string;
  campaign: string | null;
  deviceType: string;
  segment: string | null;
}

/**
 * Distinct dimensions are few (sites × channels × campaigns × device types × segments), and every
 * decoded journey holds two (entry, last) for as long as it stays decoded (a day of event time
 * after its last touchpoint): one shared, frozen object per distinct value, not an object and five
 * fresh strings per touchpoint for the GC to promote and trace. Bounded: past `POOLED_DIMENSIONS`
 * values the pool starts afresh (journeys keep the objects they hold).
 */
const POOLED_DIMENSIONS = 4_096;
const dimensionsPool = new Map<string, Dimensions>();
/** Length-prefixed, so no two values share a key whatever their characters; null is '-'. */
const keyPart = (s: string | null): string => (s === null ? '-' : `${s.length}:${s}`);

export function dimensionsOf(tp: Touchpoint): Dimensions {
  const key = keyPart(tp.site) + keyPart(tp.channel) + keyPart(tp.deviceType) + keyPart(tp.utmCampaign) + keyPart(tp.segment);
  const known = dimensionsPool.get(key);
  if (known !== undefined) return known;
  if (dimensionsPool.size >= POOLED_DIMENSIONS) dimensionsPool.clear();
  const dims = Object.freeze({ site: tp.site, channel: tp.channel, campaign: tp.utmCampaign, deviceType: tp.deviceType, segment: tp.segment });
  dimensionsPool.set(key, dims);
  return dims;
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
