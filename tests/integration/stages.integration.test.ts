import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { stopAfterEach } from '../support/cleanup.js';
import { waitForDrained } from '../support/drain.js';
import { eventually } from '../support/eventually.js';
import { testKafka } from '../support/pipeline.js';
import { produceTouchpoints, startJourneyPipeline, tp } from '../support/journey-fixtures.js';

const MIN = 60_000;

describe('stages: Kafka → stage transitions, funnel counts and churn scores in ClickHouse', () => {
  let db: TestDatabase;
  let kafka: Kafka;
  const cleanup = stopAfterEach();
  beforeAll(async () => {
    db = await freshDatabase('stages');
    kafka = testKafka('stages-it');
  });
  afterAll(async () => db.drop());

  const rows = async <T>(sql: string): Promise<T[]> => (await db.ch.client.query({ query: sql, format: 'JSONEachRow' })).json<T>();

  it('moves a customer through the whole cycle and scores a customer who is leaving', async () => {
    const { topics, writer, sessionizer, groups } = await startJourneyPipeline(kafka, db.ch, cleanup);
    const t0 = Date.now() - 20 * MIN;
    const loyal = { userId: 'loyal', anonymousId: null, site: 'shop.example', channel: 'ads' as const, utmCampaign: 'spring' };
    const leaving = { userId: 'leaving', anonymousId: null, site: 'shop.example' };
    await produceTouchpoints(kafka, topics, [
      tp({ ...loyal, messageId: 'l1', event: 'Ad Clicked', timestamp: t0 }),
      tp({ ...loyal, messageId: 'l2', event: 'Product Viewed', timestamp: t0 + MIN }),
      tp({ ...loyal, messageId: 'l3', event: 'Order Completed', revenue: 40, timestamp: t0 + 2 * MIN }),
      tp({ ...loyal, messageId: 'l4', event: 'Order Completed', revenue: 25, timestamp: t0 + 3 * MIN }),
      tp({ ...loyal, messageId: 'l5', event: 'Product Reviewed', properties: '{"rating":5}', timestamp: t0 + 4 * MIN }),
      tp({ ...leaving, messageId: 'x1', event: 'Product Viewed', timestamp: t0 }),
      tp({ ...leaving, messageId: 'x2', event: 'Order Completed', revenue: 10, timestamp: t0 + MIN }),
      tp({ ...leaving, messageId: 'x3', event: 'Support Ticket Opened', timestamp: t0 + 2 * MIN }),
      tp({ ...leaving, messageId: 'x4', event: 'Payment Failed', timestamp: t0 + 3 * MIN }),
      tp({ ...leaving, messageId: 'x5', event: 'Cancellation Page Viewed', type: 'track', timestamp: t0 + 4 * MIN }),
    ]);

    const loyalTransitions = () =>
      rows<{ from_stage: string | null; to_stage: string }>(`SELECT from_stage, toString(to_stage) AS to_stage FROM ${db.database}.stage_transitions FINAL WHERE customer_id = 'u:loyal' ORDER BY at, to_stage`);
    const funnelCounts = () =>
      rows<{ stage: string; kind: string; customers: number }>(
        `SELECT toString(stage) AS stage, toString(kind) AS kind, uniqMerge(customers) AS customers
         FROM ${db.database}.funnel_minute WHERE site = 'shop.example' GROUP BY stage, kind ORDER BY stage, kind`,
      );
    // Wait until the last step of each journey shows, then until every service has committed all
    // it was sent: what is read after that is final, so an extra transition or count would show.
    await eventually(loyalTransitions, (r) => r.some((t) => t.to_stage === 'advocacy'));
    await eventually(funnelCounts, (r) => r.some((x) => x.stage === 'advocacy' && x.kind === 'entry'));
    await waitForDrained(kafka, groups);

    const transitions = await loyalTransitions();
    expect(transitions.map((t) => `${t.from_stage ?? 'new'}→${t.to_stage}`)).toEqual([
      'new→awareness',
      'awareness→consideration',
      'consideration→purchase',
      'purchase→retention',
      'retention→advocacy',
    ]);

    // Funnel aggregates per minute: entries into each stage, conversions between consecutive stages.
    const funnel = await funnelCounts();
    const count = (stage: string, kind: string) => Number(funnel.find((f) => f.stage === stage && f.kind === kind)?.customers ?? 0);
    expect(count('awareness', 'entry')).toBe(1);
    expect(count('consideration', 'entry')).toBe(2);
    expect(count('purchase', 'entry')).toBe(2);
    expect(count('purchase', 'conversion')).toBe(2);
    expect(count('advocacy', 'conversion')).toBe(1);

    const churn = await eventually(
      () => rows<{ score: number; reasons: string[]; next_action: string }>(`SELECT score, reasons, next_action FROM ${db.database}.churn_scores FINAL WHERE customer_id = 'u:leaving'`),
      (r) => r.length === 1 && r[0]!.score > 0.7,
    );
    expect(churn[0]!.reasons.length).toBeGreaterThan(0);
    expect(churn[0]!.reasons.join(' ')).toMatch(/payment|cancel/i);
    expect(churn[0]!.next_action).not.toBe('none');
    const loyalChurn = await eventually(() => rows<{ score: number }>(`SELECT score FROM ${db.database}.churn_scores FINAL WHERE customer_id = 'u:loyal'`), (r) => r.length >= 1);
    expect(loyalChurn).toHaveLength(1);
    expect(loyalChurn[0]!.score).toBeLessThan(churn[0]!.score);

    for (const c of [sessionizer, writer]) await c.stop();
  });
});
