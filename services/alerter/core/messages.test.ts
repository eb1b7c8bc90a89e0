import { describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../../schemas/journey.js';
import { escapeSlack, inferMeasure, isSuperseded, renderSlackMessage, renderWebhookBody, summarize, supersededHint, type SlackBlock } from './messages.js';

const firing: AlertEvent = {
  alertId: 'alert-0123456789abcdef01234567',
  monitor: 'checkout-funnel:product-viewed-to-product-added',
  status: 'firing',
  at: Date.UTC(2025, 0, 6, 10, 5),
  since: Date.UTC(2025, 0, 6, 10, 0),
  site: 'shop.example',
  step: 'Product Viewed → Product Added',
  baselineRate: 0.1,
  observedRate: 0.05,
  dropPct: 50,
  statistic: 9.123,
  breakdownHint: 'deviceType=mobile accounts for 83% of lost conversions (52% of traffic)',
  dashboardUrl: 'http://localhost:3000/dashboard/funnel?site=shop.example',
};
const resolved: AlertEvent = { ...firing, status: 'resolved', at: Date.UTC(2025, 0, 6, 10, 40), observedRate: 0.099, dropPct: 1, statistic: 0.1, breakdownHint: null };
const volume: AlertEvent = { ...firing, monitor: 'tracking-volume:web', step: 'events from web', baselineRate: 2000, observedRate: 0, dropPct: 100, breakdownHint: null };

const fieldsOf = (blocks: SlackBlock[]) => blocks.flatMap((b) => (b.type === 'section' && b.fields ? b.fields.map((f) => f.text.split('\n')[0]) : []));

describe('alert messages', () => {
  it('summarises a firing conversion drop in one line with UTC times', () => {
    expect(summarize(firing)).toBe(
      'Conversion Product Viewed → Product Added on shop.example fell 50.0% (5.0% vs baseline 10.0%, z=9.1) since 2025-01-06 10:00 UTC',
    );
  });

  it('summarises a resolution and a volume drop', () => {
    expect(summarize(resolved)).toBe(
      'Resolved: Conversion Product Viewed → Product Added on shop.example is back to normal (9.9% vs baseline 10.0%); drop started 2025-01-06 10:00 UTC',
    );
    expect(summarize(volume)).toBe('Volume events from web on shop.example fell 100.0% (0 events/window vs baseline 2,000 events/window, z=9.1) since 2025-01-06 10:00 UTC');
    expect(inferMeasure(volume)).toBe('count');
    expect(inferMeasure(firing)).toBe('rate');
  });

  it('renders a JSON webhook body carrying the AlertEvent unchanged', () => {
    expect(renderWebhookBody(firing)).toEqual({ type: 'journey.alert.firing', summary: summarize(firing), alert: firing });
    expect(renderWebhookBody(resolved).type).toBe('journey.alert.resolved');
    expect(JSON.parse(JSON.stringify(renderWebhookBody(firing)))).toEqual(renderWebhookBody(firing));
  });

  it('renders a Slack firing message with figures, the root-cause hint and a dashboard button', () => {
    const message = renderSlackMessage(firing);
    expect(message.text).toBe(summarize(firing));
    expect(message.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: ':rotating_light: Conversion drop: Product Viewed → Product Added on shop.example', emoji: true } });
    expect(fieldsOf(message.blocks)).toEqual(['*Site*', '*Step*', '*Observed*', '*Baseline*', '*Drop*', '*z*', '*Since*', '*Monitor*']);
    expect(message.blocks).toContainEqual({ type: 'context', elements: [{ type: 'mrkdwn', text: `:mag: ${firing.breakdownHint}` }] });
    expect(message.blocks.at(-1)).toEqual({
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open dashboard' }, url: firing.dashboardUrl, action_id: `open-dashboard:${firing.alertId}` }],
    });
  });

  it('renders a Slack resolved message without drop figures or hint', () => {
    const message = renderSlackMessage(resolved);
    expect(message.blocks[0]).toMatchObject({ type: 'header', text: { text: ':white_check_mark: Resolved: Product Viewed → Product Added on shop.example' } });
    expect(fieldsOf(message.blocks)).toEqual(['*Site*', '*Step*', '*Now*', '*Baseline*', '*Since*', '*Monitor*']);
    expect(message.blocks.some((b) => b.type === 'context')).toBe(false);
  });

  it('escapes Slack control characters in names and keeps headers within 150 characters', () => {
    const hostile: AlertEvent = { ...firing, site: '<!channel> & co', step: 'x'.repeat(200) };
    const message = renderSlackMessage(hostile);
    expect(message.text).not.toContain('<!channel>');
    expect(message.text).toContain('&lt;!channel&gt; &amp; co');
    const header = message.blocks[0];
    expect(header?.type === 'header' && header.text.text.length).toBeLessThanOrEqual(150);
    expect(escapeSlack('a<b>&c')).toBe('a&lt;b&gt;&amp;c');
  });

  it('tells a superseded per-source alert from one back to normal: it is part of the site-wide incident now', () => {
    const superseded: AlertEvent = { ...volume, status: 'resolved', at: Date.UTC(2025, 0, 6, 11, 0), breakdownHint: supersededHint('site-volume', 'shop.example', 'alert-aaaa') };
    expect(isSuperseded(superseded)).toBe(true);
    expect(isSuperseded(resolved)).toBe(false);
    expect(isSuperseded({ ...superseded, status: 'firing' })).toBe(false);
    expect(summarize(superseded)).toBe(
      'Superseded: Volume events from web on shop.example is part of a site-wide incident now (0 events/window vs baseline 2,000 events/window; superseded by site-volume firing on shop.example (alert-aaaa); this source pages again if it is still down once that resolves); drop started 2025-01-06 10:00 UTC',
    );
    const slack = renderSlackMessage(superseded);
    expect(slack.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: ':arrow_heading_up: Superseded by a site-wide alert: events from web on shop.example', emoji: true } });
    expect(slack.blocks.some((b) => b.type === 'context' && b.elements[0]!.text.includes('alert-aaaa'))).toBe(true);
    expect(renderWebhookBody(superseded).type).toBe('journey.alert.resolved');
  });
});
