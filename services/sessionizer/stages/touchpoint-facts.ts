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
/**
 * site → channel → device type → campaign → segment → the shared object. Nested maps rather than
 * one map by a key built from the five values: building that key was ~460 bytes of strings per
 * touchpoint for the GC. A map tells every string apart, and null from '' (both are keys).
 */
type Level<T> = Map<string | null, T>;
let dimensionsPool: Level<Level<Level<Level<Level<Dimensions>>>>> = new Map();
let pooled = 0;

const levelOf = <T>(level: Level<Level<T>>, key: string | null): Level<T> => {
  let next = level.get(key);
  if (next === undefined) level.set(key, (next = new Map()));
  return next;
};

export function dimensionsOf(tp: Touchpoint): Dimensions {
  const bySegment = levelOf(levelOf(levelOf(levelOf(dimensionsPool, tp.site), tp.channel), tp.deviceType), tp.utmCampaign);
  const known = bySegment.get(tp.segment);
  if (known !== undefined) return known;
  const dims = Object.freeze({ site: tp.site, channel: tp.channel, campaign: tp.utmCampaign, deviceType: tp.deviceType, segment: tp.segment });
  if (pooled >= POOLED_DIMENSIONS) {
    dimensionsPool = new Map();
    pooled = 0;
    return dims;
  }
  bySegment.set(tp.segment, dims);
  pooled++;
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

/**
 * A touchpoint's `properties`, parsed on first use and then kept. Most touchpoints need none of
 * them (rules match on the event name first; NPS, ratings, referrers and page paths are read only
 * for the touchpoints that can carry them), and parsing every one, twice, was ~5% of the journey
 * step's time.
 */
export class LazyProperties {
  private parsed: Readonly<Record<string, unknown>> | null = null;
  constructor(private readonly json: string) {}

  get value(): Readonly<Record<string, unknown>> {
    return (this.parsed ??= parseProperties(this.json));
  }
}

/** The page path: the touchpoint field, else `properties.path` (page calls carry it there), without query or hash. */
export function pagePath(tp: Touchpoint, properties: LazyProperties): string | null {
  const fromProperties = tp.path == null ? properties.value.path : null;
  const raw = tp.path ?? (typeof fromProperties === 'string' ? fromProperties : null);
  if (raw === null || raw === '') return null;
  const query = raw.indexOf('?');
  const hash = raw.indexOf('#');
  const cut = query === -1 ? hash : hash === -1 ? query : Math.min(query, hash);
  return cut === -1 ? raw : raw.slice(0, cut);
}

/** Prefix match on whole path segments: `/blog` matches `/blog` and `/blog/x`, not `/blogger`. */
export function pathHasPrefix(path: string, prefix: string): boolean {
  if (prefix === '/' || prefix.endsWith('/')) return path.startsWith(prefix);
  return path === prefix || path.startsWith(`${prefix}/`);
}
