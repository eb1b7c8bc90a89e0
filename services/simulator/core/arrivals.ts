import type { Rng } from './random.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface ArrivalSettings {
  /** Mean arrivals per second over a day. */
  perSecond: number;
  /** 0 = flat; A makes the rate swing between (1 − A) and (1 + A) times the mean. */
  dailyAmplitude: number;
  peakHourUtc: number;
}

/**
 * Arrival times of a Poisson process whose rate follows the UTC day, λ(t) = λ·(1 + A·cos(2π(h − peak)/24)):
 * candidates come at the peak rate and are kept with probability λ(t)/λ_peak (thinning).
 */
export class Arrivals {
  private t: number;
  private readonly meanGapAtPeakMs: number;

  constructor(
    private readonly settings: ArrivalSettings,
    private readonly rng: Rng,
    startTime: number,
  ) {
    this.t = startTime;
    this.meanGapAtPeakMs = 1000 / (settings.perSecond * (1 + settings.dailyAmplitude));
  }

  /** The next arrival time (epoch ms, whole). */
  next(): number {
    const { dailyAmplitude: a, peakHourUtc } = this.settings;
    for (;;) {
      this.t += this.rng.exponential(this.meanGapAtPeakMs);
      if (a === 0) break;
      const hours = (this.t % DAY_MS) / HOUR_MS;
      const rate = 1 + a * Math.cos((2 * Math.PI * (hours - peakHourUtc)) / 24);
      if (this.rng.next() * (1 + a) < rate) break;
    }
    return Math.floor(this.t);
  }
}
