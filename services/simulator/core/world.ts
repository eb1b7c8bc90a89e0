import type { Stage } from '../../../schemas/journey.js';
import type { ChannelEntry } from './catalog.js';
import type { RepeatPurchases, StageStep } from './config.js';
import type { PageSpec } from './pages.js';
import type { Account, Device, Person } from './people.js';
import type { Rng } from './random.js';

/**
 * A journey is a generator that makes calls through the World and yields how many ms to sleep.
 * Convention (emit, then wait): every call is followed by a `yield` of the gap until the next one,
 * so at any point in journey code the next call is due now. Extra yields just sleep longer.
 */
export type Journey = Generator<number, void, void>;

/** What journeys can do. Every call-making method makes exactly one call at `now`. */
export interface World {
  readonly rng: Rng;
  /** The simulated time of the call being made (epoch ms). */
  readonly now: number;

  /** Gap between two calls of one visit. */
  pageGap(): number;
  /** Gap between two visits. */
  visitGap(): number;
  /** P(consideration starts in the same visit as awareness). */
  readonly sameVisitRate: number;
  /** The BG/NBD process of purchases after the first. */
  readonly repeatPurchases: RepeatPurchases;

  /** Starts a visit on `device` arriving through `entry` (no call). */
  beginVisit(p: Person, device: Device, entry: ChannelEntry): void;
  page(p: Person, spec: PageSpec): void;
  track(p: Person, event: string, properties: Readonly<Record<string, unknown>>): void;
  /** A server-side track (store till, call center, billing): userId once known, else a store anonymousId. */
  trackServer(p: Person, event: string, properties: Readonly<Record<string, unknown>>): void;
  /** Identifies the person on the current device (first identify, or a login on another device). */
  identify(p: Person): void;
  /** Ties the anonymous server-side record (store visits before identifying) to the userId. */
  identifyServer(p: Person): void;
  alias(p: Person): void;
  group(p: Person): void;

  /** The person's journey (if it tracks one) entered `stage`: counted in stats. */
  enterStage(p: Person, stage: Stage): void;
  /** Whether an active conversion-drop incident stops this person at this step now. */
  blocked(p: Person, eventStep: string | null, stageStep: StageStep | null): boolean;
  /** A new person, referred by `referrer`, whose journey starts after `delayMs` with Referral Accepted. */
  spawnReferred(referrer: Person, delayMs: number): void;
  /** Another member of the champion's account, starting after `delayMs`. */
  spawnMember(champion: Person, delayMs: number): void;
  newAccount(p: Person): Account;
  /** A deterministic id for orders, tickets, carts: `<prefix>-<seed>-<n>`. */
  nextId(prefix: string): string;
  note(counter: JourneyCounter): void;
}

export type JourneyCounter = 'repeatPurchases' | 'complaints' | 'referrals' | 'lapsed' | 'identified';
