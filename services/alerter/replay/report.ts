import type { AlertDecision } from '../core/detector.js';
import { isSuperseded } from '../core/messages.js';
import type { ReplayIncident } from './incidents-file.js';
import type { ReplayScore } from './score.js';

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
/** At most this many lines per list: the numbers above them carry the rest. */
const MAX_LINES = 20;

export function describeIncident(i: ReplayIncident): string {
  const what = i.kind === 'conversion-drop' ? `${i.step} −${i.dropPct}%` : `tracking stopped${i.source === undefined ? '' : ` (${i.source})`}`;
  return `${iso(i.start)}–${iso(i.end)} ${i.site ?? 'every site'}: ${what}`;
}

const describeAlert = (a: AlertDecision) =>
  `${iso(a.at)} ${a.monitor} on ${a.site}${a.breakdown ? ` [${a.breakdown.dimension}=${a.breakdown.value}]` : ''}: ` +
  `${a.measure === 'count' ? 'count' : 'rate'} ${a.observedRate.toPrecision(3)} vs ${a.baselineRate.toPrecision(3)} (−${a.dropPct}%, z ${a.statistic}) since ${iso(a.since)}`;

const capped = (lines: string[]) => (lines.length > MAX_LINES ? [...lines.slice(0, MAX_LINES), `  … ${lines.length - MAX_LINES} more`] : lines);

/**
 * The replay's summary for a terminal: the figures first, then the incidents, the false alarms and
 * the alerts held back by a site-wide one (`suppressed`, never paged) and the per-source pages a
 * site-wide alert superseded (closed when their whole site stopped after them; `alerts`: every
 * published alert).
 */
export function renderReplayReport(
  score: ReplayScore,
  run: { windows: number; from: number; to: number; suppressed?: readonly AlertDecision[]; alerts?: readonly AlertDecision[] },
): string {
  const suppressed = run.suppressed ?? [];
  const superseded = (run.alerts ?? []).filter(isSuperseded);
  const count = (o: string) => score.incidents.filter((s) => s.outcome === o).length;
  const recall = score.recall === null ? 'n/a' : `${(100 * score.recall).toFixed(1)}%`;
  // Pages per incident: an on-call person should be paged once per incident, not once per monitor that saw it.
  const pages = score.incidents.filter((s) => s.outcome === 'detected').map((s) => s.alerts.length);
  const pagesLine =
    pages.length === 0 ? 'pages per detected incident: n/a' : `pages per detected incident: ${(pages.reduce((a, b) => a + b, 0) / pages.length).toFixed(2)} on average, at most ${Math.max(...pages)}`;
  const lines = [
    `alert replay over ${iso(run.from)} to ${iso(run.to)} (event time): ${run.windows.toLocaleString('en')} monitor windows, ${score.firing} alerts fired (pages), ${suppressed.length} held back by a site-wide alert${superseded.length > 0 ? `, ${superseded.length} superseded by one` : ''}`,
    `incidents: ${score.incidents.length} injected, ${score.detected} detected, ${score.missed} missed, ${count('unjudged')} unjudged (too little traffic), ${count('unwatched')} unwatched (no monitor for it); recall ${recall}`,
    `false alarms: ${score.falseAlarms.length}`,
    pagesLine,
    ...capped(
      score.incidents.map((s) => {
        const first = s.alerts[0];
        const more = s.alerts.length > 1 ? `; ${s.alerts.length} pages (${s.alerts.map((a) => a.monitor).join(', ')})` : '';
        return `  ${s.outcome.padEnd(9)} ${describeIncident(s.incident)}${first ? ` ← ${first.monitor} at ${iso(first.at)}${more}` : ''}`;
      }),
    ),
    ...(score.falseAlarms.length > 0 ? ['false alarms:', ...capped(score.falseAlarms.map((a) => `  ${describeAlert(a)}`))] : []),
    ...(superseded.length > 0 ? ['superseded (paged, then closed for a site-wide alert):', ...capped(superseded.map((a) => `  ${describeAlert(a)}; ${a.breakdownHint}`))] : []),
    ...(suppressed.length > 0 ? ['held back (not paged):', ...capped(suppressed.map((a) => `  ${describeAlert(a)}; ${a.breakdownHint}`))] : []),
  ];
  return `${lines.join('\n')}\n`;
}
