import { APPS, INDUSTRIES, LIBRARIES, OPERATING_SYSTEMS, SAAS_PLANS, STORES, USER_AGENTS, type ChannelEntry, type Plan } from './catalog.js';
import type { SimDeviceType } from './config.js';
import type { Rng } from './random.js';
import type { PersonaRuntime } from './runtime.js';
import type { SegmentContext, SourceRoute } from './segment-call.js';

/** One browser, phone app or store loyalty record: one anonymousId. */
export interface Device {
  readonly anonymousId: string;
  readonly route: SourceRoute;
  /** context.device, shared by all calls from this device. */
  readonly info: { readonly type: string; readonly id: string };
  readonly userAgent: string | undefined;
  readonly ip: string | undefined;
  readonly library: SegmentContext['library'];
  readonly app: SegmentContext['app'];
  readonly os: SegmentContext['os'];
  /** An identify has tied this anonymousId to the person's userId (later calls carry both). */
  linked: boolean;
}

/** A B2B customer account; its people share the groupId. */
export interface Account {
  readonly id: string;
  readonly plan: Plan;
  readonly traits: Readonly<Record<string, unknown>>;
  /** How many people the buying committee has, champion included. */
  readonly size: number;
}

/** Who is simulated: ids are fixed at birth, the userId is revealed by the first identify. */
export interface Person {
  readonly index: number;
  readonly persona: PersonaRuntime;
  readonly userId: string;
  readonly email: string;
  identified: boolean;
  readonly devices: readonly Device[];
  /** The pseudo-device of server-side calls made while the person is still anonymous (store, phone). */
  serverDevice: Device | null;
  /** Current visit. */
  device: Device;
  entry: ChannelEntry;
  /** The url of the visit's previous page ('' before the first page): the next page's referrer. */
  lastUrl: string;
  /** The context of the current page, shared by the calls made on it. */
  context: SegmentContext;
  account: Account | null;
  /** The advocate's userId for people who came through a referral. */
  readonly referrerId: string | null;
  /** False for the other members of a buying committee: the account's journey is the champion's. */
  readonly tracksJourney: boolean;
}

function webDevice(rng: Rng, persona: PersonaRuntime, idPrefix: string, k: number, type: SimDeviceType): Device {
  const routes = persona.site.routes;
  const usesApp = type !== 'desktop' && rng.chance(persona.config.appShare);
  const os = rng.chance(0.55) ? 'ios' : 'android';
  const id = `${idPrefix}-${k}`;
  const ip = `198.51.100.${rng.int(1, 254)}`;
  if (usesApp) {
    return {
      anonymousId: `a-${id}`,
      route: routes[os],
      info: Object.freeze({ type, id: `d-${id}` }),
      userAgent: undefined,
      ip,
      library: LIBRARIES[os],
      app: APPS[os],
      os: OPERATING_SYSTEMS[os],
      linked: false,
    };
  }
  return {
    anonymousId: `a-${id}`,
    route: routes.web,
    info: Object.freeze({ type, id: `d-${id}` }),
    userAgent: rng.pick(USER_AGENTS[type]),
    ip,
    library: LIBRARIES.web,
    app: undefined,
    os: undefined,
    linked: false,
  };
}

/** The server-side stand-in for an anonymous person at a store till or on the phone. */
export function serverDevice(rng: Rng, person: Person, idPrefix: string): Device {
  return {
    anonymousId: `a-${idPrefix}-s`,
    route: person.persona.site.routes.server,
    info: Object.freeze({ type: 'server', id: rng.pick(STORES) }),
    userAgent: undefined,
    ip: undefined,
    library: LIBRARIES.server,
    app: undefined,
    os: undefined,
    linked: false,
  };
}

const NO_ENTRY: ChannelEntry = Object.freeze({ referrer: '', campaign: undefined });

export interface NewPerson {
  index: number;
  persona: PersonaRuntime;
  /** Prefix of this person's ids, e.g. `42-17` for seed 42, person 17. */
  idPrefix: string;
  referrerId: string | null;
  account: Account | null;
  tracksJourney: boolean;
}

export function createPerson(rng: Rng, n: NewPerson): Person {
  const count = n.persona.deviceCount.pick(rng);
  const devices: Device[] = [];
  for (let k = 0; k < count; k++) devices.push(webDevice(rng, n.persona, n.idPrefix, k, n.persona.devices.pick(rng)));
  const first = devices[0]!;
  const userId = `u-${n.idPrefix}`;
  return {
    index: n.index,
    persona: n.persona,
    userId,
    email: `${userId}@example.com`,
    identified: false,
    devices,
    serverDevice: null,
    device: first,
    entry: NO_ENTRY,
    lastUrl: '',
    context: {
      page: undefined,
      campaign: undefined,
      userAgent: first.userAgent,
      device: first.info,
      ip: first.ip,
      library: first.library,
      app: first.app,
      os: first.os,
      traits: n.persona.traits,
    },
    account: n.account,
    referrerId: n.referrerId,
    tracksJourney: n.tracksJourney,
  };
}

export function createAccount(rng: Rng, persona: PersonaRuntime, id: string): Account {
  const plan = rng.pick(SAAS_PLANS);
  const size = persona.committeeSize.pick(rng);
  const employees = rng.pick([25, 80, 250, 1200, 5000]);
  return {
    id,
    plan,
    size,
    traits: Object.freeze({ name: `Company ${id}`, industry: rng.pick(INDUSTRIES), employees, plan: plan.id }),
  };
}
