import { stageRank, type Stage } from '../../../schemas/journey.js';
import { LIBRARIES, type ChannelEntry } from './catalog.js';
import type { SimulatorConfig, StageStep } from './config.js';
import { Delivery } from './delivery.js';
import { Incidents } from './incidents.js';
import { personJourney } from './journey.js';
import type { PageSpec } from './pages.js';
import { createAccount, createPerson, serverDevice, type Account, type Device, type Person } from './people.js';
import { Rng } from './random.js';
import type { PersonaRuntime, Runtime } from './runtime.js';
import { EMPTY_PROPERTIES, type SegmentCall, type SegmentCallType, type PlannedCall, type SegmentContext, type SegmentPage, type SimulatedCall, type SourceRoute } from './segment-call.js';
import { StatsCollector } from './stats.js';
import { TimeQueue } from './time-queue.js';
import type { Journey, JourneyCounter, World } from './world.js';

/**
 * A person and the journey that drives them. The journey runs a little ahead of the clock: its
 * calls wait in `planned` (in time order) until they are due, so one resume makes several calls.
 */
interface Actor {
  readonly person: Person;
  readonly rng: Rng;
  readonly journey: Journey;
  readonly planned: PlannedCall[];
  /** Index of the next due call in `planned`. */
  head: number;
  /** When the journey is next resumed (after its last yield). */
  cursor: number;
  finished: boolean;
}

export interface EngineOptions {
  startTime: number;
  /** Mean arrivals of new (non-referred) journeys per simulated second. */
  journeysPerSecond: number;
  /** Stop admitting new journeys after this many; the stream ends when the admitted ones finish. */
  maxJourneys: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const ARRIVALS_STREAM = 0xa771;
const DELIVERY_STREAM = 0xde11;
const ACCOUNTS_STREAM = 0xacc0;
/** Person streams are numbered from here (people are 0, 1, 2, …). */
const PERSON_STREAMS = 0x10000;
/** A journey runs ahead by at most this many calls. */
const MAX_PLANNED = 32;
const SERVER_DEVICE_INFO = Object.freeze({ type: 'server', id: 'backend' });

/**
 * The discrete-event core: people wait in a queue by the time of their next call; the earliest one
 * sends it. New journeys arrive as a Poisson process (optionally following a daily cycle). Output
 * is in send-time order.
 *
 * Why journeys run ahead: resuming thousands of generator chains one call at a time in time order
 * is cache-hostile (each resume walks a cold yield* chain). Resuming one journey for a burst of
 * calls (up to `planAheadMs` ahead of the clock) keeps it hot; delivery still happens when each
 * call is due, so the output order and every time-dependent decision are unchanged. Journey code
 * sees `now` = the time of the call it makes; stage and call counters run ahead by one burst.
 *
 * Randomness: each person has their own stream (Rng.stream(seed, person)), arrivals and delivery
 * faults have theirs, so e.g. an incident that stops some people does not reshuffle everyone else.
 */
export class Engine implements World {
  now: number;
  /** The acting person's stream (journey code reads it through World). */
  rng: Rng;
  readonly sameVisitRate: number;
  readonly stats: StatsCollector;
  readonly incidents: Incidents;

  private readonly seed: number;
  private readonly people = new TimeQueue<Actor>();
  private readonly arrivalsRng: Rng;
  private readonly accountsRng: Rng;
  private readonly delivery: Delivery;
  private readonly messagePrefix: string;
  private messageCount = 0;
  private idCount = 0;
  private personCount = 0;
  private rootJourneys = 0;
  private nextArrival: number;
  private nextArrivalAt: number;
  /** The actor whose journey is running (its calls go to its `planned`). */
  private planning: Actor | null = null;
  private readonly planAheadMs: number;
  private readonly pageGapFloor: number;
  private readonly pageGapExtra: number;
  private readonly visitGapFloor: number;
  private readonly visitGapExtra: number;
  private readonly meanArrivalGapAtPeak: number;

  constructor(
    private readonly runtime: Runtime,
    private readonly config: SimulatorConfig,
    private readonly options: EngineOptions,
  ) {
    this.seed = config.seed;
    this.now = options.startTime;
    this.rng = Rng.stream(config.seed, 0);
    this.arrivalsRng = Rng.stream(config.seed, ARRIVALS_STREAM);
    this.accountsRng = Rng.stream(config.seed, ACCOUNTS_STREAM);
    this.sameVisitRate = config.timing.sameVisitRate;
    this.messagePrefix = `m-${config.seed}-`;
    this.stats = new StatsCollector(runtime.personas.map((p) => p.name));
    this.incidents = new Incidents(config.incidents, options.startTime);
    this.delivery = new Delivery(config.delivery, Rng.stream(config.seed, DELIVERY_STREAM), this.incidents, this.stats);
    // Gaps are floor + exponential, so their mean is exactly the configured mean.
    const { pageGapMs, sessionGapMs } = config.timing;
    this.pageGapFloor = Math.min(500, Math.floor(pageGapMs / 4));
    this.pageGapExtra = pageGapMs - this.pageGapFloor;
    this.visitGapFloor = Math.min(60_000, Math.floor(sessionGapMs / 4));
    this.visitGapExtra = sessionGapMs - this.visitGapFloor;
    this.planAheadMs = Math.min(4 * pageGapMs, sessionGapMs);
    this.meanArrivalGapAtPeak = 1000 / (options.journeysPerSecond * (1 + config.arrival.dailyAmplitude));
    this.nextArrival = options.startTime;
    this.nextArrivalAt = options.startTime;
    this.scheduleArrival();
  }

  /** Simulated time of the last thing that happened. */
  get clock(): number {
    return this.now;
  }

  /**
   * Appends calls to `out` until it holds `max` calls or the next call would be sent after `until`.
   * Returns false when the stream has ended (no journeys left to admit or to run, nothing held).
   */
  fill(out: SimulatedCall[], max: number, until: number): boolean {
    const people = this.people;
    const delivery = this.delivery;
    const startLength = out.length;
    let ended = false;
    while (out.length < max) {
      const heldAt = delivery.nextHeldTime();
      const personAt = people.peekTime();
      const arrivalAt = this.nextArrivalAt;
      if (heldAt <= personAt && heldAt <= arrivalAt) {
        if (heldAt === Number.POSITIVE_INFINITY) {
          ended = true;
          break;
        }
        if (heldAt > until) break;
        this.now = heldAt;
        delivery.releaseHeld(out);
      } else if (arrivalAt < personAt) {
        if (arrivalAt > until) break;
        this.now = arrivalAt;
        this.admitNewJourney();
      } else {
        if (personAt > until) break;
        this.now = personAt;
        const actor = people.peek()!;
        if (actor.head < actor.planned.length) delivery.deliver(actor.planned[actor.head++]!, out);
        else this.runAhead(actor, personAt);
        const next = nextTimeOf(actor);
        if (next < 0) people.pop();
        else people.retimeTop(next);
      }
    }
    this.stats.emitted += out.length - startLength;
    return !ended;
  }

  snapshotStats() {
    return this.stats.snapshot(this.now - this.options.startTime, this.config.incidents, this.incidents.applied, {
      activePeople: this.people.size,
      heldCalls: this.delivery.heldCount,
    });
  }

  /** Resumes the actor's journey until it is planAheadMs ahead, has MAX_PLANNED calls waiting, or ends. */
  private runAhead(actor: Actor, dueAt: number): void {
    this.planning = actor;
    this.rng = actor.rng;
    const horizon = dueAt + this.planAheadMs;
    let cursor = actor.cursor;
    while (actor.planned.length - actor.head < MAX_PLANNED) {
      this.now = cursor;
      const step = actor.journey.next();
      if (step.done === true) {
        actor.finished = true;
        break;
      }
      cursor += step.value;
      if (cursor > horizon) break;
    }
    actor.cursor = cursor;
    this.planning = null;
  }

  // ---- arrivals and spawning -------------------------------------------------------------

  /** Next arrival of a Poisson process thinned to the daily cycle: rate ∝ 1 + A·cos(2π(h − peak)/24). */
  private scheduleArrival(): void {
    if (this.rootJourneys >= this.options.maxJourneys) {
      this.nextArrivalAt = Number.POSITIVE_INFINITY;
      return;
    }
    const { dailyAmplitude: a, peakHourUtc } = this.config.arrival;
    const rng = this.arrivalsRng;
    let t = this.nextArrival;
    for (;;) {
      t += rng.exponential(this.meanArrivalGapAtPeak);
      if (a === 0) break;
      const hours = (t % DAY_MS) / HOUR_MS;
      const rate = 1 + a * Math.cos((2 * Math.PI * (hours - peakHourUtc)) / 24);
      if (rng.next() * (1 + a) < rate) break;
    }
    this.nextArrival = t;
    this.nextArrivalAt = Math.floor(t);
  }

  private admitNewJourney(): void {
    const persona = this.runtime.personaTable.pick(this.arrivalsRng);
    this.rootJourneys++;
    this.startPerson(persona, null, null, true, this.now);
    this.scheduleArrival();
  }

  private startPerson(persona: PersonaRuntime, referrerId: string | null, account: Account | null, tracksJourney: boolean, at: number): void {
    const index = this.personCount++;
    const rng = Rng.stream(this.seed, PERSON_STREAMS + index);
    const person = createPerson(rng, { index, persona, idPrefix: `${this.seed}-${index}`, referrerId, account, tracksJourney });
    this.stats.people++;
    if (tracksJourney) this.stats.journeys++;
    if (referrerId !== null) this.stats.referredJourneys++;
    this.people.push({ person, rng, journey: personJourney(this, person), planned: [], head: 0, cursor: at, finished: false }, at);
  }

  spawnReferred(referrer: Person, delayMs: number): void {
    this.startPerson(referrer.persona, referrer.userId, null, true, this.now + delayMs);
  }

  spawnMember(champion: Person, delayMs: number): void {
    this.startPerson(champion.persona, null, champion.account, false, this.now + delayMs);
  }

  newAccount(p: Person): Account {
    const account = createAccount(this.accountsRng, p.persona, `acct-${this.seed}-${this.idCount++}`);
    p.account = account;
    return account;
  }

  // ---- journey bookkeeping --------------------------------------------------------------

  pageGap(): number {
    return this.pageGapFloor + Math.round(this.rng.exponential(this.pageGapExtra));
  }

  visitGap(): number {
    return this.visitGapFloor + Math.round(this.rng.exponential(this.visitGapExtra));
  }

  enterStage(p: Person, stage: Stage): void {
    if (p.tracksJourney) this.stats.stage(p.persona.index, stageRank(stage));
  }

  blocked(p: Person, eventStep: string | null, stageStep: StageStep | null): boolean {
    return this.incidents.blocks(p.persona.site.id, eventStep, stageStep, this.now, this.rng);
  }

  nextId(prefix: string): string {
    return `${prefix}-${this.seed}-${this.idCount++}`;
  }

  note(counter: JourneyCounter): void {
    this.stats.note(counter);
  }

  // ---- calls ----------------------------------------------------------------------------

  beginVisit(p: Person, device: Device, entry: ChannelEntry): void {
    p.device = device;
    p.entry = entry;
    p.lastUrl = '';
    p.context = this.webContext(p, undefined);
  }

  page(p: Person, spec: PageSpec): void {
    const url = p.persona.site.origin + spec.path;
    const page: SegmentPage = { url, path: spec.path, referrer: p.lastUrl !== '' ? p.lastUrl : p.entry.referrer, title: spec.title };
    p.lastUrl = url;
    p.context = this.webContext(p, page);
    // Page calls carry url/path/referrer/title in properties too (analytics.js does): the same object.
    this.emit('page', p.device.route, p.device.anonymousId, webUserId(p), undefined, spec.name, page, undefined, undefined, undefined, p.context);
  }

  track(p: Person, event: string, properties: Readonly<Record<string, unknown>>): void {
    this.emit('track', p.device.route, p.device.anonymousId, webUserId(p), event, undefined, properties, undefined, undefined, undefined, p.context);
  }

  trackServer(p: Person, event: string, properties: Readonly<Record<string, unknown>>): void {
    const anonymous = p.identified ? undefined : this.serverDeviceOf(p);
    const context = this.serverContext(p, anonymous);
    const route = p.persona.site.routes.server;
    this.emit('track', route, anonymous?.anonymousId, p.identified ? p.userId : undefined, event, undefined, properties, undefined, undefined, undefined, context);
  }

  identify(p: Person): void {
    p.identified = true;
    p.device.linked = true;
    this.emit('identify', p.device.route, p.device.anonymousId, p.userId, undefined, undefined, EMPTY_PROPERTIES, identifyTraits(p), undefined, undefined, p.context);
  }

  identifyServer(p: Person): void {
    const device = this.serverDeviceOf(p);
    device.linked = true;
    const route = p.persona.site.routes.server;
    this.emit('identify', route, device.anonymousId, p.userId, undefined, undefined, EMPTY_PROPERTIES, identifyTraits(p), undefined, undefined, this.serverContext(p, device));
  }

  alias(p: Person): void {
    this.emit('alias', p.device.route, p.device.anonymousId, p.userId, undefined, undefined, EMPTY_PROPERTIES, undefined, undefined, p.device.anonymousId, p.context);
  }

  group(p: Person): void {
    const account = p.account ?? this.newAccount(p);
    this.emit('group', p.device.route, p.device.anonymousId, webUserId(p), undefined, undefined, EMPTY_PROPERTIES, account.traits, account.id, undefined, p.context);
  }

  private serverDeviceOf(p: Person): Device {
    if (p.serverDevice === null) p.serverDevice = serverDevice(this.rng, p, `${this.seed}-${p.index}`);
    return p.serverDevice;
  }

  private webContext(p: Person, page: SegmentPage | undefined): SegmentContext {
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

  private serverContext(p: Person, device: Device | undefined): SegmentContext {
    const d = device ?? p.serverDevice;
    return {
      page: undefined,
      campaign: undefined,
      userAgent: undefined,
      device: d?.info ?? SERVER_DEVICE_INFO,
      ip: undefined,
      library: LIBRARIES.server,
      app: undefined,
      os: undefined,
      traits: p.persona.traits,
    };
  }

  private emit(
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
  ): void {
    const actor = this.planning!;
    const at = this.now;
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
      // Set when the call is due (Delivery): calls come due in time order, which keeps formatting cheap.
      timestamp: '',
      sentAt: '',
    };
    this.stats.call(type, event);
    actor.planned.push({ call, writeKey: route.writeKey, source: route.source, site: route.site, at, sendAt: at });
  }
}

/** When the actor next needs the clock: its next planned call, else its next resume; -1 when done. */
function nextTimeOf(actor: Actor): number {
  if (actor.head < actor.planned.length) return actor.planned[actor.head]!.at;
  actor.planned.length = 0;
  actor.head = 0;
  return actor.finished ? -1 : actor.cursor;
}

/** The SDK knows the userId only on devices where the person has identified (or logged in). */
function webUserId(p: Person): string | undefined {
  return p.identified && p.device.linked ? p.userId : undefined;
}

function identifyTraits(p: Person): Record<string, unknown> {
  const traits: Record<string, unknown> = { persona: p.persona.name, email: p.email, name: `Customer ${p.index}` };
  if (p.account !== null) traits.company = p.account.traits.name;
  return traits;
}
