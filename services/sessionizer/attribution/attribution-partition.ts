import type { AttributionCredit, CustomerTouchpoint } from '../../../schemas/journey.js';
import { HEURISTIC_MODELS, heuristicCredit, type HeuristicOptions, type Touch } from '../../platform/attribution/heuristic.js';
import { CustomerAttribution, prune, type AttributionLimits, type AttributionState, type KeptConversion, type Pruned } from './attribution-state.js';
import { withTouch } from './attribution-state-append.js';
import { decodeAttributionState, encodeAttributionState, encodePackedAttributionState } from './attribution-state-codec.js';
import { ALL_PLAIN, packBytes, unpackBytes, type PackedBytes } from '../../platform/collections/packed-bytes.js';

/**
 * Rule-based attribution in the journey step, per conversion as it happens (README: Attribution).
 * A conversion is a touchpoint whose event is a conversion event, or one that made the customer
 * enter a conversion stage (its stage transitions, from the stage rules); a touch is any other
 * touchpoint whose channel is not ignored, the definitions `/api/paths` and the Markov run use. Each conversion
 * is credited under every heuristic model to the touches of its site in its lookback window, and
 * every row goes out as an AttributionCredit record (table `attribution`). A touch that arrives
 * after a conversion it falls into (a late event), or touches that join with an absorbed id's state
 * (an identity merge), re-attribute that conversion: the same keys again, and the new touches',
 * with the touch count as version (ReplacingMergeTree keeps the newest; docs/clickhouse.md).
 * Pure: event time only; the caller does the I/O.
 */
export interface AttributionOptions extends AttributionLimits {
  halfLifeMs: number;
  /** Touchpoint events that are conversions by their name. */
  conversionEvents: readonly string[];
  /** Stages whose entry is a conversion: the touchpoint that moved the customer into one (e.g. `purchase`). */
  conversionStages: readonly string[];
  ignoredChannels: readonly string[];
}

const DAY_MS = 86_400_000;
const NO_CREDITS: AttributionCredit[] = [];
export const DEFAULT_ATTRIBUTION_OPTIONS: AttributionOptions = {
  lookbackMs: 30 * DAY_MS,
  correctionMs: 30 * DAY_MS,
  halfLifeMs: 7 * DAY_MS,
  maxTouches: 64,
  maxConversions: 16,
  conversionEvents: ['Order Completed', 'Contract Signed'],
  conversionStages: [],
  ignoredChannels: ['web', 'other'],
};

export interface AttributionCounters {
  /** Touches dropped by the count bound, and kept conversions that stopped being corrected because of it. */
  bounded?(touches: number, conversions: number): void;
  /** Conversions attributed again (late touch or merge). */
  corrected?(n: number): void;
}

/**
 * A customer's state is held packed (the bytes of its changelog part as a latin1 string, ALL_PLAIN
 * so withTouch can append to them in place: one heap object with nothing in it for the GC to
 * trace) between accesses: from a restore, and after every
 * snapshot. A touch in time order to a customer with no kept conversion, nearly every touch, is
 * appended to the packed bytes as they are (withTouch); anything else (a conversion, a late or
 * equal-time touch, touches to drop, a merge into it, `get`) decodes the state, which stays decoded
 * until its customer's next snapshot packs it again. A merge away or a snapshot of a packed state
 * hands on the same bytes. Held decoded between flushes as before, each customer's touch list was
 * arrays, messageId and label strings that every touch added to and the GC promoted and marked:
 * about half of attribution's CPU was GC on V8's helper threads (docs/performance.md).
 */
export class AttributionPartition {
  private readonly states = new Map<string, CustomerAttribution | PackedBytes>();
  private readonly dirty = new Set<string>();
  private readonly conversionEvents: ReadonlySet<string>;
  private readonly conversionStages: ReadonlySet<string>;
  private readonly ignoredChannels: ReadonlySet<string>;
  private readonly heuristic: HeuristicOptions;

  constructor(
    private readonly options: AttributionOptions = DEFAULT_ATTRIBUTION_OPTIONS,
    private readonly counters: AttributionCounters = {},
  ) {
    if (options.maxTouches > 100) throw new Error('attribution maxTouches must be at most 100 (the models count the latest 100 touches)');
    this.conversionEvents = new Set(options.conversionEvents);
    this.conversionStages = new Set(options.conversionStages);
    this.ignoredChannels = new Set(options.ignoredChannels);
    this.heuristic = { lookbackMs: options.lookbackMs, halfLifeMs: options.halfLifeMs, maxTouches: 100 };
  }

  /**
   * One attributed touchpoint of `ctp.customerId` (after de-duplication) and the stages it made the
   * customer enter (the stage step's transitions for it, in order): the rows it emits, usually none.
   */
  process(ctp: CustomerTouchpoint, enteredStages: readonly string[] = []): AttributionCredit[] {
    const tp = ctp.touchpoint;
    const isConversion = this.conversionEvents.has(tp.event) || this.entersConversionStage(enteredStages);
    if (!isConversion && this.ignoredChannels.has(tp.channel)) return [];
    const id = ctp.customerId;
    // A timestamp after the event was received (a skewed client clock) moves the clock only to then.
    const observedAt = Math.min(tp.timestamp, tp.receivedAt);
    const held = this.states.get(id);
    if (!isConversion && typeof held !== 'object') {
      const next = withTouch(held ?? null, observedAt, tp.messageId, tp.timestamp, tp.channel, tp.utmCampaign, tp.site, this.options);
      if (next !== null) {
        if (next !== held) this.states.set(id, next);
        this.dirty.add(id);
        return NO_CREDITS; // no kept conversion: nothing to attribute again
      }
    }
    let state = this.hot(id);
    if (state === undefined) {
      state = new CustomerAttribution();
      this.states.set(id, state);
    }
    this.dirty.add(id);
    state.clock = Math.max(state.clock, observedAt);
    if (isConversion) {
      const conversion: KeptConversion = { id: tp.messageId, at: tp.timestamp, revenue: tp.revenue, site: tp.site, customerId: id };
      if (state.conversions.some((c) => c.id === conversion.id)) return [];
      state.addConversion(conversion);
      this.pruned(prune(state, this.options));
      return this.credits(conversion, state);
    }
    const at = tp.timestamp;
    if (at < state.clock - this.options.correctionMs - this.options.lookbackMs) return []; // no conversion it could count for is still corrected
    if (!state.insert(tp.messageId, at, tp.channel, tp.utmCampaign, tp.site)) return [];
    this.pruned(prune(state, this.options));
    if (state.conversions.length === 0) return NO_CREDITS; // nearly every touch
    // A touch at or before a kept conversion (it came late) and inside its window re-attributes it.
    const out: AttributionCredit[] = [];
    let corrected = 0;
    for (const c of state.conversions) {
      if (c.site !== tp.site || at > c.at || at < c.at - this.options.lookbackMs || tp.messageId === c.id) continue;
      if (!state.has(tp.messageId)) break; // it was the earliest, over the bound
      out.push(...this.credits(c, state));
      corrected++;
    }
    if (corrected > 0) this.counters.corrected?.(corrected);
    return out;
  }

  /** Removes a customer merged into another id: its state, for the transfer (null when none). */
  exportCustomer(customerId: string): Uint8Array | null {
    const state = this.states.get(customerId);
    if (state === undefined) return null;
    this.states.delete(customerId);
    this.dirty.add(customerId);
    return this.bytes(state);
  }

  /**
   * Merges an absorbed id's state into `survivorId`: the touches and conversions of both, and every
   * kept conversion (of either id) whose window gained touches from the other is attributed again.
   */
  importCustomer(survivorId: string, exported: Uint8Array): AttributionCredit[] {
    const absorbed = decodeAttributionState(exported);
    const merged = this.hot(survivorId) ?? new CustomerAttribution();
    const countBefore = new Map<KeptConversion, number>();
    for (const side of [merged, absorbed]) for (const c of side.conversions) countBefore.set(c, this.windowCount(c, side));
    merged.clock = Math.max(merged.clock, absorbed.clock);
    for (let i = 0; i < absorbed.size; i++) merged.insert(absorbed.ids[i]!, absorbed.at(i), absorbed.channel(i), absorbed.campaign(i), absorbed.site(i));
    for (const c of absorbed.conversions) if (!merged.conversions.some((k) => k.id === c.id)) merged.addConversion(c);
    this.pruned(prune(merged, this.options));
    this.states.set(survivorId, merged);
    this.dirty.add(survivorId);
    const out: AttributionCredit[] = [];
    let corrected = 0;
    for (const c of merged.conversions) {
      if (this.windowCount(c, merged) <= (countBefore.get(c) ?? 0)) continue;
      out.push(...this.credits(c, merged));
      corrected++;
    }
    if (corrected > 0) this.counters.corrected?.(corrected);
    return out;
  }

  /** The customer's state as plain objects (a copy), or undefined. */
  get(customerId: string): AttributionState | undefined {
    return this.hot(customerId)?.view();
  }

  /** The attribution part of a customer's changelog value, or null when it has none. */
  snapshot(customerId: string): Uint8Array | null {
    const state = this.states.get(customerId);
    if (state === undefined) return null;
    if (typeof state === 'string') return unpackBytes(state, ALL_PLAIN);
    // Packed again until the next access that needs it decoded (withTouch appends to the packed bytes).
    const packed = encodePackedAttributionState(state);
    this.states.set(customerId, packed);
    return unpackBytes(packed, ALL_PLAIN);
  }

  /** Rebuilds a customer from its changelog value's part (kept encoded); null deletes it. Does not mark it dirty. */
  restore(customerId: string, part: Uint8Array | null): void {
    if (part === null) this.states.delete(customerId);
    else this.states.set(customerId, packBytes(part, ALL_PLAIN));
  }

  dirtyCount(): number {
    return this.dirty.size;
  }

  takeDirtyKeys(): string[] {
    const keys = [...this.dirty];
    this.dirty.clear();
    return keys;
  }

  /** The customer's state decoded and kept so (it is in use), or undefined. */
  private hot(customerId: string): CustomerAttribution | undefined {
    const held = this.states.get(customerId);
    if (typeof held !== 'string') return held;
    const state = decodeAttributionState(unpackBytes(held, ALL_PLAIN));
    this.states.set(customerId, state);
    return state;
  }

  /** The state's changelog part: the bytes it was restored from while it has not been decoded, else encoded. */
  private bytes(state: CustomerAttribution | PackedBytes): Buffer {
    return typeof state === 'string' ? unpackBytes(state, ALL_PLAIN) : encodeAttributionState(state);
  }

  private entersConversionStage(entered: readonly string[]): boolean {
    for (const stage of entered) if (this.conversionStages.has(stage)) return true;
    return false;
  }

  private windowCount(c: KeptConversion, state: CustomerAttribution): number {
    let n = 0;
    for (let i = 0; i < state.size; i++) {
      const at = state.at(i);
      if (at <= c.at && at >= c.at - this.options.lookbackMs && state.ids[i] !== c.id && state.site(i) === c.site) n++;
    }
    return n;
  }

  private pruned(p: Pruned): void {
    if (p.touchesByBound > 0) this.counters.bounded?.(p.touchesByBound, p.conversionsFrozen);
  }

  /** Every model's rows for one conversion, from the touches of its site. Version: the touches counted. */
  private credits(c: KeptConversion, state: CustomerAttribution): AttributionCredit[] {
    const ofSite: Touch[] = [];
    for (let i = 0; i < state.size; i++) if (state.site(i) === c.site) ofSite.push(state.touch(i));
    const conversion = { id: c.id, at: c.at, revenue: c.revenue };
    const out: AttributionCredit[] = [];
    for (const model of HEURISTIC_MODELS) {
      const credits = heuristicCredit(model, conversion, ofSite, this.heuristic);
      for (const credit of credits) {
        out.push({
          conversionId: c.id,
          customerId: c.customerId,
          site: c.site,
          convertedAt: c.at,
          model,
          touchMessageId: credit.touch.messageId,
          channel: credit.touch.channel,
          campaign: credit.touch.campaign,
          touchAt: credit.touch.at,
          credit: credit.credit,
          revenueShare: credit.revenueShare,
          version: credits.length,
        });
      }
    }
    return out;
  }
}
