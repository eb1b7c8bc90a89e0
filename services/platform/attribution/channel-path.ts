/**
 * A channel path: the channels of one journey's touches in time order, as the attribution models
 * and the channelattribution package read them ("search > email > direct").
 */
export const PATH_SEPARATOR = ' > ';

/** Counts of journeys that followed one path: how many converted and how many did not. */
export interface PathCount {
  channels: readonly string[];
  conversions: number;
  nulls: number;
}

/**
 * The path with consecutive repeats of a channel folded into one ("a > a > b" → "a > b"): a
 * first-order chain has no self-loops (channelattribution folds them the same way), and a repeat
 * says the journey stayed in the channel, not that it came back.
 */
export function collapseRepeats(channels: readonly string[]): string[] {
  const out: string[] = [];
  for (const c of channels) if (out[out.length - 1] !== c) out.push(c);
  return out;
}

/** "a > b > c" (spaces around `>` optional, as the package's reader) → ['a', 'b', 'c']; empty parts dropped. */
export function parsePath(text: string): string[] {
  return text
    .split('>')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export const formatPath = (channels: readonly string[]): string => channels.join(PATH_SEPARATOR);
