/**
 * Rule-based (heuristic) attribution of one conversion to the touches before it. Pure: the credit is
 * a function of the conversion and the customer's full touch list, so a late touch or an identity
 * merge is handled by computing again from the completed list (the touches only ever grow), and the
 * newer result replaces the older one (see `attributionRows`: the version is the touch count).
 */
export const HEURISTIC_MODELS = ['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay'] as const;
export type HeuristicModel = (typeof HEURISTIC_MODELS)[number];

export interface Touch {
  messageId: string;
  channel: string;
  campaign: string | null;
  /** Event time, epoch ms. */
  at: number;
}

export interface Conversion {
  /** The conversion touchpoint's messageId. */
  id: string;
  at: number;
  revenue: number | null;
}

export interface HeuristicOptions {
  /** Touches at most this long before the conversion count (inclusive). */
  lookbackMs: number;
  /** Time decay: a touch this long before the conversion weighs half as much as one at it. */
  halfLifeMs: number;
  /** At most this many touches (the latest) count per conversion: bounds work per conversion. */
  maxTouches: number;
}

const DAY_MS = 86_400_000;
export const DEFAULT_HEURISTIC_OPTIONS: HeuristicOptions = { lookbackMs: 30 * DAY_MS, halfLifeMs: 7 * DAY_MS, maxTouches: 100 };

export interface Credit {
  touch: Touch;
  /** Share of the conversion, 0..1; a conversion's credits add up to 1. */
  credit: number;
  /** credit × the conversion's revenue; null when the conversion has none. */
  revenueShare: number | null;
}

const byTime = (a: Touch, b: Touch): number => a.at - b.at || (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0);

/**
 * The touches that count for a conversion: at or before it and no more than the lookback before it
 * (both edges inclusive: a touch in the same millisecond as the conversion counts, and one exactly
 * `lookbackMs` earlier does), one per messageId, in time order, the latest `maxTouches`.
 */
export function touchesInWindow(conversion: Conversion, touches: readonly Touch[], options: HeuristicOptions = DEFAULT_HEURISTIC_OPTIONS): Touch[] {
  const earliest = conversion.at - options.lookbackMs;
  const seen = new Set<string>();
  const inWindow: Touch[] = [];
  for (const t of touches) {
    if (t.at < earliest || t.at > conversion.at || t.messageId === conversion.id || seen.has(t.messageId)) continue;
    seen.add(t.messageId);
    inWindow.push(t);
  }
  inWindow.sort(byTime);
  return inWindow.length > options.maxTouches ? inWindow.slice(-options.maxTouches) : inWindow;
}

/** Weight of each of n touches in time order (they add up to 1). */
function weights(model: HeuristicModel, window: readonly Touch[], conversionAt: number, halfLifeMs: number): number[] {
  const n = window.length;
  switch (model) {
    case 'first_touch':
      return window.map((_, i) => (i === 0 ? 1 : 0));
    case 'last_touch':
      return window.map((_, i) => (i === n - 1 ? 1 : 0));
    case 'linear':
      return window.map(() => 1 / n);
    case 'position_based':
      // 40% first, 40% last, 20% shared by the middle; one touch takes all, two split 50/50.
      if (n === 1) return [1];
      if (n === 2) return [0.5, 0.5];
      return window.map((_, i) => (i === 0 || i === n - 1 ? 0.4 : 0.2 / (n - 2)));
    case 'time_decay': {
      const raw = window.map((t) => 2 ** (-(conversionAt - t.at) / halfLifeMs));
      const total = raw.reduce((a, b) => a + b, 0);
      return raw.map((w) => w / total);
    }
  }
}

/**
 * Credit of every touch in the conversion's window under `model` (a touch a model gives nothing,
 * such as a middle touch under first touch, is listed with credit 0, so a correction's rows cover
 * every row of the result it replaces). No touch in the window: an empty list (unattributed).
 */
export function heuristicCredit(
  model: HeuristicModel,
  conversion: Conversion,
  touches: readonly Touch[],
  options: HeuristicOptions = DEFAULT_HEURISTIC_OPTIONS,
): Credit[] {
  const window = touchesInWindow(conversion, touches, options);
  if (window.length === 0) return [];
  const w = weights(model, window, conversion.at, options.halfLifeMs);
  return window.map((touch, i) => ({ touch, credit: w[i]!, revenueShare: conversion.revenue === null ? null : w[i]! * conversion.revenue }));
}
