import { stageRank, type Stage } from '../../../schemas/journey.js';
import { Arrivals } from './arrivals.js';
import { CallMaker } from './call-maker.js';
import type { ChannelEntry } from './catalog.js';
import type { RepeatPurchases, SimulatorConfig, StageStep } from './config.js';
import { Delivery } from './delivery.js';
import { Incidents } from './incidents.js';
import { personJourney } from './journey.js';
import type { PageSpec } from './pages.js';
import { createAccount, createPerson, type Account, type Device, type Person } from './people.js';
import { Rng } from './random.js';
import type { PersonaRuntime, Runtime } from './runtime.js';
import type { PlannedCall, SimulatedCall } from './segment-call.js';
import { StatsCollector } from './stats.js';
import { TimeHeap } from '../../platform/collections/time-heap.js';
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
  /** messageIds are this prefix plus a counter (default `m-<seed>-`). */
  messageIdPrefix?: string;
}

const ARRIVALS_STREAM = 0xa771;
const DELIVERY_STREAM = 0xde11;
const ACCOUNTS_STREAM = 0xacc0;
/** Person streams are numbered from here (people are 0, 1, 2, …). */
const PERSON_STREAMS = 0x10000;
/** A journey runs ahead by at most this many calls. */
const MAX_PLANNED = 32;

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
  readonly repeatPurchases: RepeatPurchases;
  readonly stats: StatsCollector;
  readonly incidents: Incidents;

  private readonly seed: number;
  private readonly people = new TimeHeap<Actor>();
  private readonly arrivalsRng: Rng;
  private readonly accountsRng: Rng;
  private readonly delivery: Delivery;
  private readonly calls: CallMaker;
  private idCount = 0;
  private personCount = 0;
  private rootJourneys = 0;
  private readonly arrivals: Arrivals;
  private nextArrivalAt = Number.POSITIVE_INFINITY;
  /** The actor whose journey is running (its calls go to its `planned`). */
  private planning: Actor | null = null;
  private readonly planAheadMs: number;
  private readonly pageGapFloor: number;
  private readonly pageGapExtra: number;
  private readonly visitGapFloor: number;
  private readonly visitGapExtra: number;

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
    this.repeatPurchases = config.repeatPurchases;
    this.stats = new StatsCollector(runtime.personas.map((p) => p.name));
    this.calls = new CallMaker(config.seed, this.stats, options.messageIdPrefix);
    this.incidents = new Incidents(config.incidents, options.startTime);
    this.delivery = new Delivery(config.delivery, Rng.stream(config.seed, DELIVERY_STREAM), this.incidents, this.stats);
    // Gaps are floor + exponential, so their mean is exactly the configured mean.
    const { pageGapMs, sessionGapMs } = config.timing;
    this.pageGapFloor = Math.min(500, Math.floor(pageGapMs / 4));
    this.pageGapExtra = pageGapMs - this.pageGapFloor;
    this.visitGapFloor = Math.min(60_000, Math.floor(sessionGapMs / 4));
    this.visitGapExtra = sessionGapMs - this.visitGapFloor;
    this.planAheadMs = Math.min(4 * pageGapMs, sessionGapMs);
    const { dailyAmplitude, peakHourUtc } = config.arrival;
    this.arrivals = new Arrivals({ perSecond: options.journeysPerSecond, dailyAmplitude, peakHourUtc }, this.arrivalsRng, options.startTime);
    this.scheduleArrival();
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

  private scheduleArrival(): void {
    this.nextArrivalAt = this.rootJourneys >= this.options.maxJourneys ? Number.POSITIVE_INFINITY : this.arrivals.next();
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

  // ---- calls (each is made by the acting person at `now` and waits in its plan) ----------

  beginVisit(p: Person, device: Device, entry: ChannelEntry): void {
    this.calls.beginVisit(p, device, entry);
  }

  page(p: Person, spec: PageSpec): void {
    this.plan(this.calls.page(p, spec, this.now));
  }

  track(p: Person, event: string, properties: Readonly<Record<string, unknown>>): void {
    this.plan(this.calls.track(p, event, properties, this.now));
  }

  trackServer(p: Person, event: string, properties: Readonly<Record<string, unknown>>): void {
    this.plan(this.calls.trackServer(p, event, properties, this.now, this.rng));
  }

  identify(p: Person): void {
    this.plan(this.calls.identify(p, this.now));
  }

  identifyServer(p: Person): void {
    this.plan(this.calls.identifyServer(p, this.now, this.rng));
  }

  alias(p: Person): void {
    this.plan(this.calls.alias(p, this.now));
  }

  group(p: Person): void {
    this.plan(this.calls.group(p, p.account ?? this.newAccount(p), this.now));
  }

  private plan(call: PlannedCall): void {
    this.planning!.planned.push(call);
  }
}

/** When the actor next needs the clock: its next planned call, else its next resume; -1 when done. */
function nextTimeOf(actor: Actor): number {
  if (actor.head < actor.planned.length) return actor.planned[actor.head]!.at;
  actor.planned.length = 0;
  actor.head = 0;
  return actor.finished ? -1 : actor.cursor;
}
