/**
 * What the journey step keeps per customer to attribute its conversions as they happen
 * (services/platform/attribution/heuristic.ts computes the credit): a bounded list of the
 * customer's recent touches and of its recent conversions, so that a late touch or an identity
 * merge can re-attribute a conversion already attributed.
 *
 * Invariants (what makes a correction exact and its version grow):
 * - the touches are sorted by (at, messageId), one per messageId, at most `maxTouches`;
 * - every kept conversion's lookback window is complete: no touch inside it was ever dropped. Touches
 *   are dropped by age only below `clock − lookback − correction`, below every kept conversion's
 *   window; when the count bound drops the earliest touch, the kept conversions whose window held
 *   it are dropped too (their rows stay as last emitted, no longer corrected);
 * - so a kept conversion's window only ever gains touches, and the touch count is its version.
 */
export interface StoredTouch {
  messageId: string;
  /** Event time, epoch ms. */
  at: number;
  channel: string;
  campaign: string | null;
  site: string;
}

export interface KeptConversion {
  /** The conversion touchpoint's messageId. */
  id: string;
  at: number;
  revenue: number | null;
  site: string;
  /** The customer id its rows were first written under (an absorbed id's conversion keeps its id: same shard, same rows). */
  customerId: string;
}

/** A customer's state as plain objects: what `AttributionPartition.get` shows (tests, inspection). */
export interface AttributionState {
  /** The customer's event-time clock: the newest touch or conversion time seen (capped at its receipt). */
  clock: number;
  touches: StoredTouch[];
  conversions: KeptConversion[];
}

export interface AttributionLimits {
  lookbackMs: number;
  /** How far behind the customer's clock a conversion is still corrected (its touches are kept that much longer). */
  correctionMs: number;
  maxTouches: number;
  maxConversions: number;
}

/** A touch's label indexes pack into one number, each below 2^16 (exact in a double). */
export const REF = 0x10000;
/** Past this many labels the table is rebuilt from the touches still kept (a conversion holds its own strings). */
const MAX_LABELS = 256;

/** A copy of `items` with `item` at `i`, exactly as long (a pushed-to array keeps room for 16 more). */
function inserted<T>(items: readonly T[], i: number, item: T): T[] {
  const out = new Array<T>(items.length + 1);
  for (let j = 0; j < i; j++) out[j] = items[j]!;
  out[i] = item;
  for (let j = i; j < items.length; j++) out[j + 1] = items[j]!;
  return out;
}

/** Shared by every customer without a conversion (nearly all) or touch: frozen, so replaced, never written to. */
const NO_NUMBERS: number[] = Object.freeze([]) as unknown as number[];
const NO_STRINGS: string[] = Object.freeze([]) as unknown as string[];
const NO_CONVERSIONS: KeptConversion[] = Object.freeze([]) as unknown as KeptConversion[];

/**
 * A customer's attribution state as held in memory: the touches as two arrays, with no object per
 * touch. Nearly every touchpoint is a touch (only `web` and `other` are not), and each is kept for
 * weeks: as objects (a touch, its channel, campaign and site strings from the decoded record) they
 * were four or five long-lived heap objects per event for the GC to promote and mark; here a touch is
 * its messageId string and two numbers, its time and its channel, campaign and site as indexes into
 * the customer's few labels. The arrays grow by half when full, in place otherwise (an insert or a
 * drop shifts within them): an array grown by push keeps room for 16 more, most customers have a few
 * touches, and copying them on every insert made the scavenger copy each new array again. Conversions
 * are rare and stay objects.
 */
export class CustomerAttribution {
  clock = -Infinity;
  /** Touches held: the first `size` of `ids`, and of `nums` in pairs. */
  size = 0;
  /** Per touch, in (at, messageId) order: [at, label indexes] (channel + (campaign + 1)·2^16 + site·2^32; campaign + 1 = 0: none). */
  private nums: number[] = NO_NUMBERS;
  ids: Array<string | undefined> = NO_STRINGS;
  /** The channels, campaigns and sites the touches refer to, each once (others may linger until a rebuild). */
  labels: string[] = [];
  conversions: KeptConversion[] = NO_CONVERSIONS;

  at(i: number): number {
    return this.nums[2 * i]!;
  }

  refs(i: number): number {
    return this.nums[2 * i + 1]!;
  }

  has(messageId: string): boolean {
    for (let i = 0; i < this.size; i++) if (this.ids[i] === messageId) return true;
    return false;
  }

  channel(i: number): string {
    return this.labels[this.refs(i) % REF]!;
  }

  campaign(i: number): string | null {
    const c = Math.floor(this.refs(i) / REF) % REF;
    return c === 0 ? null : this.labels[c - 1]!;
  }

  site(i: number): string {
    return this.labels[Math.floor(this.refs(i) / (REF * REF))]!;
  }

  touch(i: number): StoredTouch {
    return { messageId: this.ids[i]!, at: this.at(i), channel: this.channel(i), campaign: this.campaign(i), site: this.site(i) };
  }

  /**
   * Inserts in (at, messageId) order (usually at the end: touches come mostly in time order);
   * false when the messageId is there already.
   */
  insert(messageId: string, at: number, channel: string, campaign: string | null, site: string): boolean {
    if (this.has(messageId)) return false;
    let i = this.size;
    while (i > 0 && (at < this.at(i - 1) || (at === this.at(i - 1) && messageId < this.ids[i - 1]!))) i--;
    if (this.labels.length >= MAX_LABELS) this.rebuildLabels();
    const ref = this.label(channel) + (campaign === null ? 0 : this.label(campaign) + 1) * REF + this.label(site) * REF * REF;
    if (this.size === this.ids.length) this.grow(this.size + (this.size >> 1) + 2);
    for (let j = this.size; j > i; j--) {
      this.ids[j] = this.ids[j - 1];
      this.nums[2 * j] = this.nums[2 * j - 2]!;
      this.nums[2 * j + 1] = this.nums[2 * j - 1]!;
    }
    this.ids[i] = messageId;
    this.nums[2 * i] = at;
    this.nums[2 * i + 1] = ref;
    this.size++;
    return true;
  }

  /** Drops the first n touches (in place). */
  dropFirst(n: number): void {
    if (n === 0) return;
    for (let j = n; j < this.size; j++) {
      this.ids[j - n] = this.ids[j];
      this.nums[2 * (j - n)] = this.nums[2 * j]!;
      this.nums[2 * (j - n) + 1] = this.nums[2 * j + 1]!;
    }
    this.size -= n;
    for (let j = this.size; j < this.size + n; j++) this.ids[j] = undefined; // not kept alive
  }

  /** Sets the touches (decoding): [at, label indexes] pairs and messageIds in order, arrays of their exact length. */
  setTouches(nums: number[], ids: string[]): void {
    this.nums = nums;
    this.ids = ids;
    this.size = ids.length;
  }

  private grow(capacity: number): void {
    const ids = new Array<string | undefined>(capacity);
    const nums = new Array<number>(2 * capacity);
    for (let j = 0; j < this.size; j++) {
      ids[j] = this.ids[j];
      nums[2 * j] = this.nums[2 * j]!;
      nums[2 * j + 1] = this.nums[2 * j + 1]!;
    }
    for (let j = 2 * this.size; j < 2 * capacity; j++) nums[j] = 0; // doubles from the start: no hole to convert later
    this.ids = ids;
    this.nums = nums;
  }

  addConversion(c: KeptConversion): void {
    this.conversions = inserted(this.conversions, this.conversions.length, c);
  }

  /** The index of `s` in the labels, added when new. */
  label(s: string): number {
    const i = this.labels.indexOf(s);
    if (i >= 0) return i;
    this.labels = inserted(this.labels, this.labels.length, s);
    return this.labels.length - 1;
  }

  /** Keeps only the labels the touches still use: a customer's campaigns come and go over the years. */
  private rebuildLabels(): void {
    const old = this.labels;
    this.labels = [];
    for (let i = 0; i < this.size; i++) {
      const r = this.refs(i);
      const c = Math.floor(r / REF) % REF;
      this.nums[2 * i + 1] = this.label(old[r % REF]!) + (c === 0 ? 0 : this.label(old[c - 1]!) + 1) * REF + this.label(old[Math.floor(r / (REF * REF))]!) * REF * REF;
    }
  }

  /** The state as plain objects (a copy). */
  view(): AttributionState {
    const touches: StoredTouch[] = [];
    for (let i = 0; i < this.size; i++) touches.push(this.touch(i));
    return { clock: this.clock, touches, conversions: this.conversions.map((c) => ({ ...c })) };
  }

  /** A state from plain objects (its touches in order, one per messageId). */
  static of(state: AttributionState): CustomerAttribution {
    const out = new CustomerAttribution();
    out.clock = state.clock;
    for (const t of state.touches) out.insert(t.messageId, t.at, t.channel, t.campaign, t.site);
    for (const c of state.conversions) out.addConversion({ ...c });
    return out;
  }
}

/** What pruning dropped: touches (by age or by the bound) and conversions no longer corrected. */
export interface Pruned {
  touchesByAge: number;
  touchesByBound: number;
  conversionsFrozen: number;
}

/** Nothing dropped: what pruning returns for nearly every touch (no allocation). */
const NOTHING_PRUNED: Pruned = Object.freeze({ touchesByAge: 0, touchesByBound: 0, conversionsFrozen: 0 });

/**
 * Applies the age and count bounds in place. Conversions older than `clock − correction` (or past
 * `maxConversions`, the oldest first) are no longer corrected; touches older than every window that
 * can still be attributed exactly go; over `maxTouches` the earliest go, and with each the kept
 * conversions whose window held it.
 */
export function prune(state: CustomerAttribution, limits: AttributionLimits): Pruned {
  const horizon = state.clock - limits.correctionMs;
  let conversionsFrozen = 0;
  // Most customers keep no conversion: nothing to allocate for them on every touch.
  if (state.conversions.length > 0) {
    const keep = state.conversions.filter((c) => c.at >= horizon);
    keep.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const excess = Math.max(0, keep.length - limits.maxConversions);
    conversionsFrozen += state.conversions.length - keep.length + excess;
    state.conversions = excess > 0 ? keep.slice(excess) : keep;
  }
  const oldest = horizon - limits.lookbackMs;
  let drop = 0;
  while (drop < state.size && state.at(drop) < oldest) drop++;
  const touchesByAge = drop;
  const touchesByBound = Math.max(0, state.size - drop - limits.maxTouches);
  if (touchesByBound > 0) {
    drop += touchesByBound;
    const lastDropped = state.at(drop - 1);
    const before = state.conversions.length;
    state.conversions = state.conversions.filter((c) => c.at - limits.lookbackMs > lastDropped);
    conversionsFrozen += before - state.conversions.length;
  }
  state.dropFirst(drop);
  if (drop === 0 && conversionsFrozen === 0) return NOTHING_PRUNED;
  return { touchesByAge, touchesByBound, conversionsFrozen };
}
