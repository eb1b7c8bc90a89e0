import type { Incident } from './config.js';
import type { Rng } from './random.js';

interface Window {
  readonly index: number;
  readonly start: number;
  readonly end: number;
}
interface ConversionDrop extends Window {
  readonly step: string;
  readonly probability: number;
  readonly site: string | undefined;
}
interface TrackingStop extends Window {
  readonly site: string | undefined;
  readonly source: string | undefined;
}

/**
 * The configured incidents on the simulated clock. `applied[i]` counts what incident i did: people
 * stopped at its step (conversion-drop) or calls lost (tracking-stopped).
 */
export class Incidents {
  private readonly drops: ConversionDrop[] = [];
  private readonly stops: TrackingStop[] = [];
  readonly applied: number[];

  constructor(
    readonly incidents: readonly Incident[],
    startTime: number,
  ) {
    this.applied = incidents.map(() => 0);
    incidents.forEach((incident, index) => {
      const start = startTime + incident.at;
      if (incident.kind === 'conversion-drop') {
        const end = incident.durationMs === undefined ? Number.POSITIVE_INFINITY : start + incident.durationMs;
        this.drops.push({ index, start, end, step: incident.step, probability: incident.dropPct / 100, site: incident.site });
      } else {
        this.stops.push({ index, start, end: start + incident.durationMs, site: incident.site, source: incident.source });
      }
    });
  }

  /**
   * Whether a person on `site` attempting the step at `at` is stopped. Each matching incident stops
   * an attempt with its dropPct, so the step's conversion falls by that fraction. Draws only when an
   * incident matches: without incidents the random streams are untouched.
   */
  blocks(site: string, eventStep: string | null, stageStep: string | null, at: number, rng: Rng): boolean {
    for (const d of this.drops) {
      if (at < d.start || at >= d.end) continue;
      if (d.step !== eventStep && d.step !== stageStep) continue;
      if (d.site !== undefined && d.site !== site) continue;
      if (rng.chance(d.probability)) {
        this.applied[d.index]!++;
        return true;
      }
    }
    return false;
  }

  /** Whether a call from this site's source at `at` is lost because its tracking is down. */
  stopped(site: string, source: string, at: number): boolean {
    for (const s of this.stops) {
      if (at < s.start || at >= s.end) continue;
      if (s.site !== undefined && s.site !== site) continue;
      if (s.source !== undefined && s.source !== source) continue;
      this.applied[s.index]!++;
      return true;
    }
    return false;
  }
}
