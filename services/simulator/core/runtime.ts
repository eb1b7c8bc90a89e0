import {
  DEFAULT_EXIT_WEIGHTS,
  SIM_CHANNELS,
  SOURCE_KINDS,
  type PersonaConfig,
  type SimChannel,
  type SimDeviceType,
  type SimulatorConfig,
  type SiteKind,
  type SourceKind,
} from './config.js';
import { WeightedTable } from './random.js';
import type { SourceRoute } from './segment-call.js';

/** Web channels: a visit on one of them starts with a landing page. */
export type WebChannel = Exclude<SimChannel, 'store' | 'support'>;
export type AdvocacyAction = 'review' | 'nps' | 'share';

/** A site with its write keys resolved to routes (missing sources fall back to `web`). */
export interface SiteRuntime {
  readonly id: string;
  readonly kind: SiteKind;
  readonly origin: string;
  readonly routes: Readonly<Record<SourceKind, SourceRoute>>;
}

/** A persona with every weighted choice prepared once. */
export interface PersonaRuntime {
  readonly index: number;
  readonly name: string;
  readonly config: PersonaConfig;
  readonly site: SiteRuntime;
  /** Shared `{ persona }` object for context.traits. */
  readonly traits: { readonly persona: string };
  readonly channels: WeightedTable<SimChannel>;
  /** The web channels only, for visits that must happen online. */
  readonly webChannels: WeightedTable<WebChannel>;
  readonly devices: WeightedTable<SimDeviceType>;
  readonly deviceCount: WeightedTable<number>;
  /** Index of the consideration step after which a non-buyer leaves. */
  readonly exitAfter: WeightedTable<number>;
  readonly advocacy: WeightedTable<AdvocacyAction>;
  /** Ratings 1–3 / 4–5 and NPS 0–8 / 9–10 (null when the configured weights leave that part empty). */
  readonly lowRating: WeightedTable<number> | null;
  readonly highRating: WeightedTable<number> | null;
  readonly lowNps: WeightedTable<number> | null;
  readonly highNps: WeightedTable<number> | null;
  readonly committeeSize: WeightedTable<number>;
}

export interface Runtime {
  readonly sites: readonly SiteRuntime[];
  readonly personas: readonly PersonaRuntime[];
  readonly personaTable: WeightedTable<PersonaRuntime>;
}

/** Values firstValue.. with their weights, or null if all those weights are zero. */
function partTable(weights: readonly number[], from: number, to: number, firstValue: number): WeightedTable<number> | null {
  const entries = weights.slice(from, to).map((w, i) => [from + i + firstValue, w] as const);
  return entries.some(([, w]) => w > 0) ? new WeightedTable(entries) : null;
}

function siteRuntime(site: SimulatorConfig['sites'][number]): SiteRuntime {
  const routes = Object.fromEntries(
    SOURCE_KINDS.map((source) => {
      const writeKey = site.writeKeys[source];
      const route: SourceRoute = writeKey === undefined ? { writeKey: site.writeKeys.web, source: 'web', site: site.id } : { writeKey, source, site: site.id };
      return [source, Object.freeze(route)];
    }),
  ) as Record<SourceKind, SourceRoute>;
  return { id: site.id, kind: site.kind, origin: `https://${site.id}`, routes };
}

function personaRuntime(config: PersonaConfig, index: number, site: SiteRuntime): PersonaRuntime {
  const webEntries = SIM_CHANNELS.filter((c): c is WebChannel => c !== 'store' && c !== 'support').map((c) => [c, config.channels[c]] as const);
  const fb = config.feedback;
  return {
    index,
    name: config.name,
    config,
    site,
    traits: Object.freeze({ persona: config.name }),
    channels: WeightedTable.fromRecord(config.channels),
    // Someone who only ever comes through the store still browses the site now and then: directly.
    webChannels: webEntries.some(([, w]) => w > 0) ? new WeightedTable(webEntries) : new WeightedTable([['direct', 1]]),
    devices: WeightedTable.fromRecord(config.devices),
    deviceCount: WeightedTable.ofIndices(config.devicesPerPerson, 1),
    exitAfter: WeightedTable.ofIndices(config.considerationExitWeights ?? DEFAULT_EXIT_WEIGHTS[site.kind]),
    advocacy: WeightedTable.fromRecord(config.advocacyActions),
    lowRating: partTable(fb.ratingWeights, 0, 3, 1),
    highRating: partTable(fb.ratingWeights, 3, 5, 1),
    lowNps: partTable(fb.npsWeights, 0, 9, 0),
    highNps: partTable(fb.npsWeights, 9, 11, 0),
    committeeSize: WeightedTable.ofIndices(config.committeeSizeWeights, 1),
  };
}

export function prepareRuntime(config: SimulatorConfig): Runtime {
  const sites = config.sites.map(siteRuntime);
  const byId = new Map(sites.map((s) => [s.id, s]));
  const personas = config.personas.map((p, i) => {
    const site = byId.get(p.site);
    if (site === undefined) throw new Error(`persona ${p.name}: unknown site ${p.site}`);
    return personaRuntime(p, i, site);
  });
  return { sites, personas, personaTable: new WeightedTable(personas.map((p) => [p, p.config.weight] as const)) };
}

/** Every source the simulator sends through (one per write key): what the collector must know. */
export function sourcesOf(config: SimulatorConfig): SourceRoute[] {
  const byKey = new Map<string, SourceRoute>();
  for (const site of config.sites.map(siteRuntime)) {
    for (const route of Object.values(site.routes)) if (!byKey.has(route.writeKey)) byKey.set(route.writeKey, route);
  }
  return [...byKey.values()];
}
