/**
 * The simulator's ONLY source of randomness. Core code never calls Math.random() or reads a clock:
 * every draw comes from an `Rng` seeded from the config, so a seed and a config fully determine the
 * traffic. The generator is sfc32 (Chris Doty-Humphrey's Small Fast Counter, 128-bit state), seeded
 * through splitmix32 so that neighbouring seeds give unrelated streams.
 */

const TWO_POW_32 = 4294967296;

/** splitmix32 step: a well-mixed 32-bit value from a counter, used only to expand seeds. */
function splitmix32(state: number): [next: number, out: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

/** FNV-1a of a label, so `fork('delivery')` names a stream instead of numbering it. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Box–Muller makes normals in pairs; the second is kept for the next call. */
  private spareNormal: number | null = null;

  constructor(seed: number) {
    let s = seed | 0;
    let out: number;
    [s, out] = splitmix32(s);
    this.a = out | 0;
    [s, out] = splitmix32(s);
    this.b = out | 0;
    [s, out] = splitmix32(s);
    this.c = out | 0;
    [, out] = splitmix32(s);
    this.d = out | 0;
    // sfc32's first outputs are correlated with the seed; the reference implementation discards them.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /**
   * Stream `stream` of `seed`: independent generators for independent things (one per person, one for
   * arrivals, one for delivery faults), so changing one part of a run does not reshuffle the others.
   */
  static stream(seed: number, stream: number): Rng {
    const [, a] = splitmix32((seed ^ 0x5bd1e995) | 0);
    const [, b] = splitmix32((stream + a) | 0);
    return new Rng((a ^ Math.imul(b, 0x27d4eb2d)) >>> 0);
  }

  /** An independent stream derived from this one's seed-state and a label (does not advance this stream). */
  fork(label: string): Rng {
    return new Rng((this.a ^ Math.imul(this.b, 31) ^ this.c ^ this.d ^ hashLabel(label)) >>> 0);
  }

  nextUint32(): number {
    const a = this.a;
    const b = this.b;
    const c = this.c;
    const d = this.d;
    const t = (((a + b) | 0) + d) | 0;
    this.d = (d + 1) | 0;
    this.a = b ^ (b >>> 9);
    this.b = (c + (c << 3)) | 0;
    this.c = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** A uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Exponential with the given mean (inter-arrival times of a Poisson process). */
  exponential(mean: number): number {
    // 1 - next() is in (0, 1], so the log is finite.
    return -mean * Math.log(1 - this.next());
  }

  normal(mean = 0, sd = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + sd * z;
    }
    const u = 1 - this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + sd * r * Math.cos(2 * Math.PI * v);
  }

  /**
   * Gamma with the given shape and scale (mean shape × scale): Marsaglia & Tsang's squeeze method;
   * a shape below 1 is drawn as Gamma(shape + 1) × U^(1/shape), which is exact.
   */
  gamma(shape: number, scale = 1): number {
    if (!(shape > 0) || !(scale > 0)) throw new RangeError(`gamma needs a positive shape and scale, got ${shape} and ${scale}`);
    if (shape < 1) return this.gamma(shape + 1, scale) * Math.pow(1 - this.next(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const z = this.normal();
      const v0 = 1 + c * z;
      if (v0 <= 0) continue;
      const v = v0 * v0 * v0;
      const u = 1 - this.next();
      if (u < 1 - 0.0331 * z * z * z * z || Math.log(u) < 0.5 * z * z + d * (1 - v + Math.log(v))) return d * v * scale;
    }
  }

  /** Beta(a, b), as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    return x / (x + this.gamma(b));
  }

  /** Poisson with the given mean: Knuth's product method below 30, a rounded normal above. */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean >= 30) return Math.max(0, Math.round(this.normal(mean, Math.sqrt(mean))));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }
}

/**
 * A fixed set of weighted choices, prepared once (cumulative weights) so that a pick costs one draw
 * and a short scan. Zero weights are allowed and never picked; at least one weight must be positive.
 */
export class WeightedTable<T> {
  private readonly values: readonly T[];
  private readonly cumulative: Float64Array;
  readonly total: number;

  constructor(entries: ReadonlyArray<readonly [T, number]>) {
    this.values = entries.map(([v]) => v);
    this.cumulative = new Float64Array(entries.length);
    let sum = 0;
    entries.forEach(([, w], i) => {
      if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`weight ${i} must be a finite number >= 0`);
      sum += w;
      this.cumulative[i] = sum;
    });
    if (!(sum > 0)) throw new RangeError('at least one weight must be positive');
    this.total = sum;
  }

  static fromRecord<K extends string>(weights: Readonly<Record<K, number>>): WeightedTable<K> {
    return new WeightedTable(Object.entries(weights).map(([k, w]) => [k as K, w as number] as const));
  }

  /** Weights for 0, 1, 2, …: picks an index. */
  static ofIndices(weights: readonly number[], firstIndex = 0): WeightedTable<number> {
    return new WeightedTable(weights.map((w, i) => [i + firstIndex, w] as const));
  }

  pick(rng: Rng): T {
    const x = rng.next() * this.total;
    const cum = this.cumulative;
    const last = cum.length - 1;
    for (let i = 0; i < last; i++) if (x < cum[i]!) return this.values[i] as T;
    return this.values[last] as T;
  }

  /** The probability of each value, in entry order. */
  probabilities(): number[] {
    return Array.from(this.cumulative, (c, i) => (c - (i === 0 ? 0 : this.cumulative[i - 1]!)) / this.total);
  }
}
