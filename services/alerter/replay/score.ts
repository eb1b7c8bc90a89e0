import type { AlertDecision } from '../core/detector.js';
import type { Monitor } from '../core/monitors.js';
import { windowMsOf } from '../schedule.js';
import type { ReplayIncident } from './incidents-file.js';
import type { WindowVerdict } from './replay.js';

/**
 * How an incident came out:
 *  - detected: a monitor that watches its step (volume monitors: its tracking) fired on its site during it;
 *  - missed: such a monitor judged windows during it (verdict normal or anomalous) and did not fire;
 *  - unjudged: every window of those monitors during it had too little traffic (insufficient) or baseline (warmingUp);
 *  - unwatched: no configured monitor watches it on its site.
 */
export type IncidentOutcome = 'detected' | 'missed' | 'unjudged' | 'unwatched';

export interface ScoredIncident {
  readonly incident: ReplayIncident;
  readonly outcome: IncidentOutcome;
  /** Firing alerts of watching monitors that cover it, earliest first. */
  readonly alerts: readonly AlertDecision[];
}

export interface ReplayScore {
  readonly incidents: readonly ScoredIncident[];
  /** Firing alerts that overlap no incident on their site (any step: a drop upstream shows downstream too). */
  readonly falseAlarms: readonly AlertDecision[];
  readonly firing: number;
  readonly detected: number;
  readonly missed: number;
  /** detected / (detected + missed); null when no incident could be judged. */
  readonly recall: number | null;
}

/** Whether `monitor` measures what `incident` breaks. */
export function watches(monitor: Monitor, incident: ReplayIncident): boolean {
  if (incident.kind === 'tracking-stopped') return monitor.kind === 'volume' && (incident.source === undefined || monitor.sources.includes(incident.source));
  return monitor.kind !== 'volume' && `${monitor.from}→${monitor.to}` === incident.step;
}

const onSite = (incident: ReplayIncident, site: string) => incident.site === undefined || incident.site === site;

/**
 * An alert spans the windows from its first anomalous one (`since`) to the one it fired on. It
 * covers an incident when that span meets the incident's time plus one window of the alert's
 * monitor after its end (the window holding the end still shows it).
 */
function covers(alert: AlertDecision, incident: ReplayIncident, windowMs: number): boolean {
  return onSite(incident, alert.site) && alert.since < incident.end + windowMs && alert.at + windowMs > incident.start;
}

/** Pure: scores the replay's firing alerts against the injected incidents. */
export function scoreReplay(alerts: readonly AlertDecision[], verdicts: readonly WindowVerdict[], monitors: readonly Monitor[], incidents: readonly ReplayIncident[]): ReplayScore {
  const byId = new Map(monitors.map((m) => [m.id, m]));
  const windowMs = (monitorId: string) => {
    const m = byId.get(monitorId);
    if (m === undefined) throw new Error(`alert of unknown monitor ${monitorId}`);
    return windowMsOf(m);
  };
  const firing = alerts.filter((a) => a.status === 'firing');

  const scored = incidents.map((incident): ScoredIncident => {
    const watching = new Set(monitors.filter((m) => watches(m, incident)).map((m) => m.id));
    const hits = firing.filter((a) => watching.has(a.monitor) && covers(a, incident, windowMs(a.monitor))).sort((a, b) => a.at - b.at);
    if (hits.length > 0) return { incident, outcome: 'detected', alerts: hits };
    const during = verdicts.filter((v) => watching.has(v.monitorId) && onSite(incident, v.site) && v.at < incident.end && v.at + windowMs(v.monitorId) > incident.start);
    if (during.length === 0) return { incident, outcome: 'unwatched', alerts: [] };
    const judged = during.some((v) => v.verdict === 'normal' || v.verdict === 'anomalous');
    return { incident, outcome: judged ? 'missed' : 'unjudged', alerts: [] };
  });

  const falseAlarms = firing.filter((a) => !incidents.some((i) => covers(a, i, windowMs(a.monitor))));
  const detected = scored.filter((s) => s.outcome === 'detected').length;
  const missed = scored.filter((s) => s.outcome === 'missed').length;
  return { incidents: scored, falseAlarms, firing: firing.length, detected, missed, recall: detected + missed === 0 ? null : detected / (detected + missed) };
}

/**
 * The replay passes when every incident the alerter could judge was detected and nothing else fired;
 * with incidents but none judgeable it proved nothing and fails too. Unjudged and unwatched incidents
 * are reported, not failed: they measure the data and the monitors file, not the detector.
 */
export function replayPassed(score: ReplayScore): boolean {
  const judgeable = score.detected + score.missed;
  return score.missed === 0 && score.falseAlarms.length === 0 && (score.incidents.length === 0 || judgeable > 0);
}
