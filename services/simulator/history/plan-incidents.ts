import { EVENT_STEPS, type Incident, type SimulatorConfig } from '../core/config.js';
import { Rng } from '../core/random.js';
import type { IncidentStats } from '../core/stats.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** Its own random stream, so planning incidents does not reshuffle arrivals or people. */
const INCIDENT_STREAM = 0x1c1d;
/** Quiet time before the first incident: the simulation starts empty and baselines need to learn. */
const FIRST_INCIDENT_AFTER_MS = DAY_MS;
/** At least this long between the end of one incident and the start of the next, so each is scored on its own. */
const MIN_GAP_MS = DAY_MS;
/** Mean of the extra (exponential) gap: with MIN_GAP_MS about one incident every 5 days. */
const MEAN_EXTRA_GAP_MS = 4 * DAY_MS;
/** No incident ends within this much of the history's end: every one is followed by normal traffic. */
const END_MARGIN_MS = 6 * HOUR_MS;

/**
 * Incidents for a history file when the config names none: over `days`, seeded by the config's seed,
 * one every ~5 days, alternating at random between
 *  - a conversion drop of 80–100% on one consideration step of one site, lasting 3–8 hours, and
 *  - the site's tracking stopped (every source) for 1–4 hours.
 * Strong and hours long on purpose: a history's traffic per window is thin, and these are what an
 * alert replay must catch (`npm run replay-alerts`). Times are relative to the history's start.
 */
export function planHistoryIncidents(config: SimulatorConfig, days: number): Incident[] {
  const rng = Rng.stream(config.seed, INCIDENT_STREAM);
  const horizon = days * DAY_MS - END_MARGIN_MS;
  const incidents: Incident[] = [];
  let at = FIRST_INCIDENT_AFTER_MS + rng.exponential(MEAN_EXTRA_GAP_MS);
  for (;;) {
    const site = rng.pick(config.sites);
    const start = Math.round(at / MINUTE_MS) * MINUTE_MS;
    const incident: Incident = rng.chance(0.5)
      ? { kind: 'conversion-drop', at: start, durationMs: rng.int(3, 8) * HOUR_MS, step: rng.pick(EVENT_STEPS[site.kind]), dropPct: rng.int(80, 100), site: site.id }
      : { kind: 'tracking-stopped', at: start, durationMs: rng.int(1, 4) * HOUR_MS, site: site.id };
    const durationMs = incident.durationMs ?? 0;
    if (start + durationMs > horizon) break;
    incidents.push(incident);
    at = start + durationMs + MIN_GAP_MS + rng.exponential(MEAN_EXTRA_GAP_MS);
  }
  return incidents;
}

/** An incident as the params file records it: absolute epoch-ms times, what it hit and how hard. */
export interface InjectedIncident {
  readonly kind: Incident['kind'];
  readonly start: number;
  readonly end: number;
  readonly startIso: string;
  readonly endIso: string;
  /** Every site when absent. */
  readonly site?: string;
  /** conversion-drop: the step ('Product Added→Checkout Started') and the relative drop in percent. */
  readonly step?: string;
  readonly dropPct?: number;
  /** tracking-stopped: a source kind (web, ios, android, server); every source when absent. */
  readonly source?: string;
  /** What it did: people stopped at the step, or calls lost. */
  readonly applied: number;
}

/** The incidents of a run on the history's clock; an open-ended conversion drop lasts to `endTime`. */
export function injectedIncidents(incidents: readonly IncidentStats[], startTime: number, endTime: number): InjectedIncident[] {
  return incidents.map(({ incident, applied }) => {
    const start = startTime + incident.at;
    const end = incident.durationMs === undefined ? endTime : Math.min(endTime, start + incident.durationMs);
    const times = { start, end, startIso: new Date(start).toISOString(), endIso: new Date(end).toISOString() };
    const site = incident.site === undefined ? {} : { site: incident.site };
    if (incident.kind === 'conversion-drop') return { kind: incident.kind, ...times, ...site, step: incident.step, dropPct: incident.dropPct, applied };
    return { kind: incident.kind, ...times, ...site, ...(incident.source === undefined ? {} : { source: incident.source }), applied };
  });
}
