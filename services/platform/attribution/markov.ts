import { collapseRepeats, type PathCount } from './channel-path.js';

/**
 * First-order Markov attribution with removal effects, defined to give what the channelattribution
 * package (PyPI 2.2.5, `markov_model(order=1)`) estimates by simulation, computed exactly instead:
 *
 * - States: (start), one per channel, (conversion), (null). Each path, repeats folded, adds its
 *   journey count (conversions + nulls) to start → c1, c1 → c2, …, and its conversions to
 *   c_last → (conversion) and its nulls to c_last → (null). Rows are normalised into probabilities.
 * - A journey walks from (start); it converts if it reaches (conversion) having visited at most
 *   `maxSteps` channels (the package: the longest observed path + 1; walks that run longer count as
 *   not converting).
 * - Removal effect of channel k: RE_k = P(visits k | converts) — the share of conversions lost if
 *   every walk entering k were sent to (null) instead, i.e. 1 − P(convert without k) / P(convert).
 *   (The package counts, over simulated converting walks, those that visited k: the same quantity.)
 * - Credit: conversions_k = total observed conversions × RE_k / Σ_j RE_j.
 *
 * Computed by dynamic programming over walk length: per channel k, the probability mass at each
 * channel split by whether k was visited yet. Cost O(channels × maxSteps × transitions), independent
 * of the number of journeys; building the counts is O(total path length).
 */
export interface MarkovResult {
  channels: MarkovChannel[];
  /** Observed conversions and non-converting journeys in the input. */
  totalConversions: number;
  totalNulls: number;
  /** P(convert) of a walk from (start) within maxSteps channels. */
  conversionProbability: number;
  maxSteps: number;
  transitions: MarkovTransition[];
}

export interface MarkovChannel {
  channel: string;
  removalEffect: number;
  /** Conversions credited to the channel (they add up to totalConversions). */
  conversions: number;
  /** conversions / totalConversions. */
  share: number;
}

export interface MarkovTransition {
  from: string;
  to: string;
  probability: number;
}

export const START = '(start)';
export const CONVERSION = '(conversion)';
export const NULL = '(null)';

export interface MarkovOptions {
  /** Channels a walk may visit before it stops; default the longest (folded) path + 1, as the package. */
  maxSteps?: number;
}

export function markovAttribution(paths: readonly PathCount[], options: MarkovOptions = {}): MarkovResult {
  const index = new Map<string, number>();
  const names: string[] = [];
  const id = (channel: string): number => {
    let i = index.get(channel);
    if (i === undefined) {
      i = names.length;
      index.set(channel, i);
      names.push(channel);
    }
    return i;
  };
  // Journey counts per transition; channel ids are assigned in first-appearance order (the package's order).
  const startCounts = new Map<number, number>();
  const between = new Map<string, number>();
  const endCounts: { channel: number; conversions: number; nulls: number }[] = [];
  let totalConversions = 0;
  let totalNulls = 0;
  let longest = 0;
  for (const p of paths) {
    const journeys = p.conversions + p.nulls;
    const channels = collapseRepeats(p.channels);
    if (journeys <= 0 || channels.length === 0) continue;
    totalConversions += p.conversions;
    totalNulls += p.nulls;
    longest = Math.max(longest, channels.length);
    const ids = channels.map(id);
    startCounts.set(ids[0]!, (startCounts.get(ids[0]!) ?? 0) + journeys);
    for (let i = 1; i < ids.length; i++) {
      const key = `${ids[i - 1]},${ids[i]}`;
      between.set(key, (between.get(key) ?? 0) + journeys);
    }
    endCounts.push({ channel: ids[ids.length - 1]!, conversions: p.conversions, nulls: p.nulls });
  }
  const n = names.length;
  const maxSteps = options.maxSteps ?? longest + 1;

  // Row-normalised transitions: channel → channel as a dense matrix (channels are few), and the
  // probability of each channel moving to (conversion).
  const rowTotal = new Float64Array(n);
  const toChannel = new Float64Array(n * n);
  const toConversion = new Float64Array(n);
  const toNull = new Float64Array(n);
  for (const [key, count] of between) {
    const [from, to] = key.split(',').map(Number) as [number, number];
    toChannel[from * n + to] = count;
    rowTotal[from]! += count;
  }
  for (const e of endCounts) {
    toConversion[e.channel]! += e.conversions;
    toNull[e.channel]! += e.nulls;
    rowTotal[e.channel]! += e.conversions + e.nulls;
  }
  for (let i = 0; i < n; i++) {
    const total = rowTotal[i]!;
    if (total === 0) continue;
    for (let j = 0; j < n; j++) toChannel[i * n + j]! /= total;
    toConversion[i]! /= total;
    toNull[i]! /= total;
  }
  const startTotal = [...startCounts.values()].reduce((a, b) => a + b, 0);
  const start = new Float64Array(n);
  for (const [channel, count] of startCounts) start[channel] = count / startTotal;

  const removalEffect = new Float64Array(n);
  let conversionProbability = 0;
  for (let k = 0; k < n; k++) {
    const { converted, convertedVisiting } = walk(k, { n, start, toChannel, toConversion, maxSteps });
    conversionProbability = converted;
    removalEffect[k] = converted > 0 ? convertedVisiting / converted : 0;
  }
  const sumEffects = removalEffect.reduce((a, b) => a + b, 0);
  const channels = names.map((channel, i): MarkovChannel => {
    const share = sumEffects > 0 ? removalEffect[i]! / sumEffects : 0;
    return { channel, removalEffect: removalEffect[i]!, conversions: share * totalConversions, share };
  });

  const transitions: MarkovTransition[] = [];
  for (let j = 0; j < n; j++) if (start[j]! > 0) transitions.push({ from: START, to: names[j]!, probability: start[j]! });
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) if (toChannel[i * n + j]! > 0) transitions.push({ from: names[i]!, to: names[j]!, probability: toChannel[i * n + j]! });
    if (toConversion[i]! > 0) transitions.push({ from: names[i]!, to: CONVERSION, probability: toConversion[i]! });
    if (toNull[i]! > 0) transitions.push({ from: names[i]!, to: NULL, probability: toNull[i]! });
  }
  return { channels, totalConversions, totalNulls, conversionProbability, maxSteps, transitions };
}

interface Chain {
  n: number;
  start: Float64Array;
  toChannel: Float64Array;
  toConversion: Float64Array;
  maxSteps: number;
}

/** P(convert within maxSteps channels) and P(convert within maxSteps, having visited channel k). */
function walk(k: number, c: Chain): { converted: number; convertedVisiting: number } {
  const { n } = c;
  // Mass at each channel after `step` channels visited: `before` has not visited k yet, `after` has.
  let before = new Float64Array(n);
  let after = new Float64Array(n);
  for (let j = 0; j < n; j++) (j === k ? after : before)[j] = c.start[j]!;
  let converted = 0;
  let convertedVisiting = 0;
  for (let step = 1; step <= c.maxSteps; step++) {
    for (let i = 0; i < n; i++) {
      converted += (before[i]! + after[i]!) * c.toConversion[i]!;
      convertedVisiting += after[i]! * c.toConversion[i]!;
    }
    if (step === c.maxSteps) break;
    const nextBefore = new Float64Array(n);
    const nextAfter = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const b = before[i]!;
      const a = after[i]!;
      if (b === 0 && a === 0) continue;
      const row = i * n;
      for (let j = 0; j < n; j++) {
        const p = c.toChannel[row + j]!;
        if (p === 0) continue;
        if (j === k) nextAfter[j]! += (b + a) * p;
        else {
          nextBefore[j]! += b * p;
          nextAfter[j]! += a * p;
        }
      }
    }
    before = nextBefore;
    after = nextAfter;
  }
  return { converted, convertedVisiting };
}
