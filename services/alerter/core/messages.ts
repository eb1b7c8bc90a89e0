import type { AlertEvent } from '../../../schemas/journey.js';

/** How the figures of an alert read: a conversion rate, or a count of events per window (volume). */
export type Measure = 'rate' | 'count';

/** AlertEvent carries no kind; rates live in [0, 1] and volume monitors need ≥ minSample events, so counts don't. */
export const inferMeasure = (alert: AlertEvent): Measure => (alert.baselineRate <= 1 && alert.observedRate <= 1 ? 'rate' : 'count');

const formatValue = (value: number, measure: Measure) =>
  measure === 'rate' ? `${(value * 100).toFixed(value < 0.01 ? 2 : 1)}%` : `${Math.round(value).toLocaleString('en-US')} events/window`;

/** Times are UTC so every reader of a page sees the same clock; `YYYY-MM-DD HH:MM UTC`. */
export const formatTime = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

const SUPERSEDED = 'superseded by ';

/**
 * The hint of a per-source alert resolved because a site-wide alert now covers it (detector.ts):
 * the alert is not back to normal, its incident is the site-wide one. AlertEvent has no field for
 * it (the Avro schema and table stay as they are), so the hint says it, and `isSuperseded` reads it.
 */
export const supersededHint = (monitor: string, site: string, alertId: string) =>
  `${SUPERSEDED}${monitor} firing on ${site} (${alertId}); this source pages again if it is still down once that resolves`;
export const isSuperseded = (alert: AlertEvent) => alert.status === 'resolved' && alert.breakdownHint !== null && alert.breakdownHint.startsWith(SUPERSEDED);

const what = (measure: Measure) => (measure === 'rate' ? 'Conversion' : 'Volume');

/** One line: what fell, where, by how much, since when. */
export function summarize(alert: AlertEvent, measure: Measure = inferMeasure(alert)): string {
  const figures = `${formatValue(alert.observedRate, measure)} vs baseline ${formatValue(alert.baselineRate, measure)}`;
  if (isSuperseded(alert)) {
    return `Superseded: ${what(measure)} ${alert.step} on ${alert.site} is part of a site-wide incident now (${figures}; ${alert.breakdownHint}); drop started ${formatTime(alert.since)}`;
  }
  if (alert.status === 'resolved') {
    return `Resolved: ${what(measure)} ${alert.step} on ${alert.site} is back to normal (${figures}); drop started ${formatTime(alert.since)}`;
  }
  return `${what(measure)} ${alert.step} on ${alert.site} fell ${alert.dropPct.toFixed(1)}% (${figures}, z=${alert.statistic.toFixed(1)}) since ${formatTime(alert.since)}`;
}

export interface WebhookBody {
  readonly type: 'journey.alert.firing' | 'journey.alert.resolved';
  readonly summary: string;
  readonly alert: AlertEvent;
}

/** Generic JSON webhook: a stable `type`, a human summary and the AlertEvent unchanged. */
export function renderWebhookBody(alert: AlertEvent, measure: Measure = inferMeasure(alert)): WebhookBody {
  return { type: `journey.alert.${alert.status}`, summary: summarize(alert, measure), alert };
}

/** Slack mrkdwn treats &, < and > as control characters; everything user-named is escaped. */
export const escapeSlack = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

type SlackText = { type: 'plain_text' | 'mrkdwn'; text: string; emoji?: boolean };
export type SlackBlock =
  | { type: 'header'; text: SlackText }
  | { type: 'section'; text?: SlackText; fields?: SlackText[] }
  | { type: 'context'; elements: SlackText[] }
  | { type: 'actions'; elements: Array<{ type: 'button'; text: SlackText; url: string; action_id: string }> };

export interface SlackMessage {
  /** Fallback for notifications and clients that don't render blocks. */
  readonly text: string;
  readonly blocks: SlackBlock[];
}

/** Slack's header block takes at most 150 characters of plain text. */
const header = (text: string): SlackBlock => ({ type: 'header', text: { type: 'plain_text', text: text.length > 150 ? `${text.slice(0, 149)}…` : text, emoji: true } });
const field = (label: string, value: string): SlackText => ({ type: 'mrkdwn', text: `*${label}*\n${escapeSlack(value)}` });

/** Slack-compatible incoming-webhook body (`{ text, blocks }`), firing and resolved variants. */
export function renderSlackMessage(alert: AlertEvent, measure: Measure = inferMeasure(alert)): SlackMessage {
  const firing = alert.status === 'firing';
  const superseded = isSuperseded(alert);
  const title = firing
    ? `:rotating_light: ${what(measure)} drop: ${alert.step} on ${alert.site}`
    : superseded
      ? `:arrow_heading_up: Superseded by a site-wide alert: ${alert.step} on ${alert.site}`
      : `:white_check_mark: Resolved: ${alert.step} on ${alert.site}`;
  const blocks: SlackBlock[] = [
    header(title),
    { type: 'section', text: { type: 'mrkdwn', text: escapeSlack(summarize(alert, measure)) } },
    {
      type: 'section',
      fields: [
        field('Site', alert.site),
        field('Step', alert.step),
        field(firing ? 'Observed' : 'Now', formatValue(alert.observedRate, measure)),
        field('Baseline', formatValue(alert.baselineRate, measure)),
        ...(firing ? [field('Drop', `${alert.dropPct.toFixed(1)}%`), field('z', alert.statistic.toFixed(1))] : []),
        field('Since', formatTime(alert.since)),
        field('Monitor', alert.monitor),
      ],
    },
  ];
  if ((firing || superseded) && alert.breakdownHint !== null) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `:mag: ${escapeSlack(alert.breakdownHint)}` }] });
  }
  blocks.push({
    type: 'actions',
    elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open dashboard' }, url: alert.dashboardUrl, action_id: `open-dashboard:${alert.alertId}` }],
  });
  return { text: escapeSlack(summarize(alert, measure)), blocks };
}
