import { LIBRARIES, type ChannelEntry } from './catalog.js';
import type { PageSpec } from './pages.js';
import { serverDevice, type Account, type Device, type Person } from './people.js';
import type { Rng } from './random.js';
import {
  EMPTY_PROPERTIES,
  type PlannedCall,
  type SegmentCall,
  type SegmentCallType,
  type SegmentContext,
  type SegmentPage,
  type SourceRoute,
} from './segment-call.js';
import type { StatsCollector } from './stats.js';

const SERVER_DEVICE_INFO = Object.freeze({ type: 'server', id: 'backend' });

/**
 * Builds Segment calls the way the SDKs would for a person in their current visit: web calls from
 * the visit's device (anonymousId, plus userId once that device is identified), server calls from
 * the site's server source (userId once known, else the person's store/phone anonymousId).
 * messageIds are `m-<seed>-<n>`, numbered in the order calls are made.
 */
export class CallMaker {
  private readonly messagePrefix: string;
  private messageCount = 0;

  constructor(
    private readonly seed: number,
    private readonly stats: StatsCollector,
    messagePrefix = `m-${seed}-`,
  ) {
    this.messagePrefix = messagePrefix;
  }

  /**
   * A visit lands on the home page unless its first page call says otherwise: calls made before
   * that (a login identify, Referral Accepted) carry the landing page, as browser SDKs always do.
   */
  beginVisit(p: Person, device: Device, entry: ChannelEntry): void {
    p.device = device;
    p.entry = entry;
    p.lastUrl = '';
    const origin = p.persona.site.origin;
    p.context = webContext(p, { url: `${origin}/`, path: '/', referrer: entry.referrer, title: 'Home' });
  }

  page(p: Person, spec: PageSpec, at: number): PlannedCall {
    const url = p.persona.site.origin + spec.path;
    const page: SegmentPage = { url, path: spec.path, referrer: p.lastUrl !== '' ? p.lastUrl : p.entry.referrer, title: spec.title };
    p.lastUrl = url;
    p.context = webContext(p, page);
    // Page calls carry url/path/referrer/title in properties too (analytics.js does): the same object.
    return this.make(at, 'page', p.device.route, p.device.anonymousId, webUserId(p), undefined, spec.name, page, undefined, undefined, undefined, p.context);
  }

  track(p: Person, event: string, properties: Readonly<Record<string, unknown>>, at: number): PlannedCall {
    return this.make(at, 'track', p.device.route, p.device.anonymousId, webUserId(p), event, undefined, properties, undefined, undefined, undefined, p.context);
  }

  trackServer(p: Person, event: string, properties: Readonly<Record<string, unknown>>, at: number, rng: Rng): PlannedCall {
    const anonymous = p.identified ? undefined : this.serverDeviceOf(p, rng);
    const userId = p.identified ? p.userId : undefined;
    return this.make(at, 'track', p.persona.site.routes.server, anonymous?.anonymousId, userId, event, undefined, properties, undefined, undefined, undefined, serverContext(p));
  }

  /** Marks the person identified and the current device linked. */
  identify(p: Person, at: number): PlannedCall {
    p.identified = true;
    p.device.linked = true;
    return this.make(at, 'identify', p.device.route, p.device.anonymousId, p.userId, undefined, undefined, EMPTY_PROPERTIES, identifyTraits(p), undefined, undefined, p.context);
  }

  identifyServer(p: Person, at: number, rng: Rng): PlannedCall {
    const device = this.serverDeviceOf(p, rng);
    device.linked = true;
    const route = p.persona.site.routes.server;
    return this.make(at, 'identify', route, device.anonymousId, p.userId, undefined, undefined, EMPTY_PROPERTIES, identifyTraits(p), undefined, undefined, serverContext(p));
  }

  alias(p: Person, at: number): PlannedCall {
    const { route, anonymousId } = p.device;
    return this.make(at, 'alias', route, anonymousId, p.userId, undefined, undefined, EMPTY_PROPERTIES, undefined, undefined, anonymousId, p.context);
  }

  group(p: Person, account: Account, at: number): PlannedCall {
    return this.make(at, 'group', p.device.route, p.device.anonymousId, webUserId(p), undefined, undefined, EMPTY_PROPERTIES, account.traits, account.id, undefined, p.context);
  }

  private serverDeviceOf(p: Person, rng: Rng): Device {
    if (p.serverDevice === null) p.serverDevice = serverDevice(rng, p, `${this.seed}-${p.index}`);
    return p.serverDevice;
  }

  private make(
    at: number,
    type: SegmentCallType,
    route: SourceRoute,
    anonymousId: string | undefined,
    userId: string | undefined,
    event: string | undefined,
    name: string | undefined,
    properties: Readonly<Record<string, unknown>>,
    traits: Readonly<Record<string, unknown>> | undefined,
    groupId: string | undefined,
    previousId: string | undefined,
    context: SegmentContext,
  ): PlannedCall {
    const call: SegmentCall = {
      type,
      messageId: this.messagePrefix + this.messageCount++,
      anonymousId,
      userId,
      event,
      name,
      properties,
      traits,
      groupId,
      previousId,
      context,
      // Stamped when the call is due (Delivery): calls come due in time order, which keeps formatting cheap.
      timestamp: '',
      sentAt: '',
    };
    this.stats.call(type, event);
    return { call, writeKey: route.writeKey, source: route.source, site: route.site, at, sendAt: at };
  }
}

/** The SDK knows the userId only on devices where the person has identified (or logged in). */
function webUserId(p: Person): string | undefined {
  return p.identified && p.device.linked ? p.userId : undefined;
}

function webContext(p: Person, page: SegmentPage): SegmentContext {
  const d = p.device;
  return {
    page,
    campaign: p.entry.campaign,
    userAgent: d.userAgent,
    device: d.info,
    ip: d.ip,
    library: d.library,
    app: d.app,
    os: d.os,
    traits: p.persona.traits,
  };
}

/** Server-side calls: no page, no browser; the store/phone pseudo-device if the person has one. */
function serverContext(p: Person): SegmentContext {
  return {
    page: undefined,
    campaign: undefined,
    userAgent: undefined,
    device: p.serverDevice?.info ?? SERVER_DEVICE_INFO,
    ip: undefined,
    library: LIBRARIES.server,
    app: undefined,
    os: undefined,
    traits: p.persona.traits,
  };
}

function identifyTraits(p: Person): Record<string, unknown> {
  const traits: Record<string, unknown> = { persona: p.persona.name, email: p.email, name: `Customer ${p.index}` };
  if (p.account !== null) traits.company = p.account.traits.name;
  return traits;
}
