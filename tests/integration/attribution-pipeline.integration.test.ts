import pino from 'pino';
import { Registry } from 'prom-client';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshSnapshots } from '../../services/platform/clickhouse/snapshots.js';
import { buildQueryApi } from '../../services/query-api/app.js';
import * as R from '../../services/query-api/responses.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { stopAfterEach } from '../support/cleanup.js';
import { waitForDrained } from '../support/drain.js';
import { eventually } from '../support/eventually.js';
import { testKafka } from '../support/pipeline.js';
import { produceTouchpoints, startJourneyPipeline, tp } from '../support/journey-fixtures.js';

const MIN = 60_000;

describe('attribution: touchpoints → journey step → writer → attribution table → /api/attribution', () => {
  let db: TestDatabase;
  let kafka: Kafka;
  const cleanup = stopAfterEach();
  beforeAll(async () => {
    db = await freshDatabase('attr_pipe');
    kafka = testKafka('attribution-it');
  });
  afterAll(async () => db?.drop());

  const rows = async <T>(sql: string): Promise<T[]> => (await db.ch.client.query({ query: sql, format: 'JSONEachRow' })).json<T>();

  it('credits a multi-channel journey stitched across a login, corrects it when a late touch comes, and serves it', async () => {
    const { topics, writer, sessionizer, groups } = await startJourneyPipeline(kafka, db.ch, cleanup);
    const t0 = Date.now() - 30 * MIN;
    // carol: a social post and an ad on her phone before she is known; the email click carries both
    // ids (the login that stitches the phone's id into hers), then she buys. bob: an email, then buys.
    // dave buys with no touch before. In-site navigation (web) is never a touch.
    const phone = { anonymousId: 'phone-c', userId: null };
    const carol = { anonymousId: 'phone-c', userId: 'carol' };
    await produceTouchpoints(kafka, topics, [
      tp({ ...phone, messageId: 'c1', event: 'Social Post Clicked', channel: 'social', timestamp: t0 }),
      tp({ ...phone, messageId: 'c2', event: 'Ad Clicked', channel: 'ads', utmCampaign: 'spring', timestamp: t0 + MIN }),
      tp({ ...phone, messageId: 'c3', event: 'Product Viewed', channel: 'web', timestamp: t0 + 2 * MIN }),
      tp({ ...carol, messageId: 'c4', event: 'Email Link Clicked', channel: 'email', utmCampaign: 'newsletter', timestamp: t0 + 3 * MIN }),
      tp({ ...carol, messageId: 'c-order', event: 'Order Completed', channel: 'web', revenue: 120, timestamp: t0 + 5 * MIN }),
      tp({ userId: 'bob', anonymousId: null, messageId: 'b1', event: 'Email Link Clicked', channel: 'email', utmCampaign: 'newsletter', timestamp: t0 }),
      tp({ userId: 'bob', anonymousId: null, messageId: 'b-order', event: 'Order Completed', channel: 'web', revenue: 50, timestamp: t0 + 2 * MIN }),
      tp({ userId: 'dave', anonymousId: null, messageId: 'd-order', event: 'Order Completed', channel: 'web', revenue: 10, timestamp: t0 + MIN }),
    ]);

    const versions = (conversion: string) =>
      rows<{ version: number; rows: string }>(`SELECT version, count() AS rows FROM ${db.database}.attribution WHERE conversion_id = '${conversion}' GROUP BY version ORDER BY version`);
    // carol's order: her three touches (the phone's two came with the merge), every model.
    await eventually(() => versions('c-order'), (v) => v.length > 0 && Number(v.at(-1)!.rows) === 15, 90_000, 200, "carol's order attributed");
    // A touch she made before the order, delivered after it (a late event): the order is attributed again.
    await produceTouchpoints(kafka, topics, [tp({ ...carol, messageId: 'c-late', event: 'Products Searched', channel: 'search', timestamp: t0 + 4 * MIN })]);
    await eventually(() => versions('c-order'), (v) => v.some((x) => Number(x.version) === 4), 90_000, 200, "carol's order attributed again");
    await waitForDrained(kafka, groups);

    // Every version as written: 3 touches × 5 models, then 4 × 5 (the correction covers every older key).
    expect((await versions('c-order')).map((v) => [Number(v.version), Number(v.rows)])).toEqual([[3, 15], [4, 20]]);
    expect((await versions('b-order')).map((v) => [Number(v.version), Number(v.rows)])).toEqual([[1, 5]]);
    expect(await versions('d-order')).toEqual([]);
    const final = await rows<{ model: string; touch_message_id: string; credit: number; version: number; customer_id: string }>(
      `SELECT model, touch_message_id, credit, version, customer_id FROM ${db.database}.attribution FINAL WHERE conversion_id = 'c-order' ORDER BY model, touch_at`,
    );
    expect(final).toHaveLength(20);
    expect(new Set(final.map((r) => `${r.customer_id} v${r.version}`))).toEqual(new Set(['u:carol v4']));
    expect(final.filter((r) => r.model === 'position_based').map((r) => [r.touch_message_id, Number(r.credit.toFixed(6))])).toEqual([
      ['c1', 0.4], ['c2', 0.1], ['c4', 0.1], ['c-late', 0.4],
    ]);

    // The API reads the attribution snapshots, refreshed on a schedule: as of now.
    await refreshSnapshots(db.ch);
    const api = buildQueryApi({ clickhouse: db.ch, logger: pino({ level: 'silent' }), metrics: new Registry(), now: () => t0 + 60 * MIN, cacheTtlMs: 0 });
    cleanup.defer(() => api.close());
    const period = `from=${new Date(t0 - 60 * MIN).toISOString()}&to=${new Date(t0 + 60 * MIN).toISOString()}&site=shop.example`;
    const response = await api.inject({ url: `/api/attribution?${period}&model=linear` });
    expect(response.statusCode, response.body).toBe(200);
    const linear = R.AttributionResponse.parse(response.json()).models[0]!;
    expect(linear).toMatchObject({ model: 'linear', source: 'journey_step', conversions: 2, unattributedConversions: 1, truncated: false });
    // carol: social, ads, email, search ¼ each of 120; bob: email, all of 50.
    expect(Object.fromEntries(linear.rows.map((r) => [r.key, [Number(r.conversions.toFixed(6)), Number(r.revenue!.toFixed(6))]]))).toEqual({
      email: [1.25, 80], social: [0.25, 30], ads: [0.25, 30], search: [0.25, 30],
    });
    const byCampaign = R.AttributionResponse.parse((await api.inject({ url: `/api/attribution?${period}&model=first_touch&breakdown=campaign` })).json()).models[0]!;
    expect(Object.fromEntries(byCampaign.rows.map((r) => [r.key, r.conversions]))).toEqual({ '(none)': 1, newsletter: 1 });

    for (const c of [sessionizer, writer]) await c.stop();
  });
});
