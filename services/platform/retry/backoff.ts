/** Capped exponential backoff: the wait before retry n grows as baseMs·2^n up to capMs. */
export interface Backoff {
  readonly baseMs: number;
  readonly capMs: number;
}

/**
 * The wait before retry number `retry` (0 = the first retry), with equal jitter: half the
 * ceiling plus a random half, so clients that failed together do not all retry together, and no
 * wait is shorter than half the ceiling. `random` (in [0, 1)) is injected so tests are exact.
 */
export function backoffMs(retry: number, backoff: Backoff, random: () => number): number {
  const ceiling = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.min(Math.max(retry, 0), 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
