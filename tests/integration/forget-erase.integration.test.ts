import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouse } from '../../services/platform/clickhouse/client.js';
import { chDateTime64 } from '../../services/platform/clickhouse/rows.js';
import { SNAPSHOT_VIEWS, refreshSnapshots } from '../../services/platform/clickhouse/snapshots.js';
import { deletionsTable } from '../../services/platform/privacy/deletions-table.js';
import { CUSTOMER_TABLES, eraseCustomerRows } from '../../services/writer/forget/erase-rows.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';

const MIN = 60_000;
/** A whole minute an hour ago: within every table's TTL (dead_letters keeps 30 days). */
const T0 = Math.floor(Date.now() / MIN) * MIN - 60 * MIN;
const minuteText = (minute: number) => new Date(T0 + minute * MIN).toISOString().slice(0, 19).replace('T', ' ');
const at = (minute: number, second = 0) => chDateTime64(T0 + minute * MIN + second * 1_000);
const ALICE = ['u:alice', 'a:alice-phone'];

/**
 * Alice and Bob in every table a deletion touches; their funnel events share minutes 0 and 1, and
 * minute 2 is Alice's alone; Bob's transition names Alice as his referrer.
 */
const SEED: Record<string, Array<Record<string, unknown>>> = {
  touchpoints: [
    { message_id: 'a1', customer_id: 'u:alice', user_id: 'alice', anonymous_id: 'alice-phone', site: 'shop', ts: at(0), event: 'Order Completed' },
    { message_id: 'a2', customer_id: 'u:alice', user_id: null, anonymous_id: 'alice-phone', site: 'shop', ts: at(1) },
    { message_id: 'b1', customer_id: 'u:bob', user_id: 'bob', anonymous_id: null, site: 'shop', ts: at(0), event: 'Order Completed' },
  ],
  sessions: [
    { session_id: 's_a', customer_id: 'u:alice', status: 'closed', version: 1, site: 'shop', started_at: at(0), ended_at: at(1), event_count: 2 },
    { session_id: 's_b', customer_id: 'u:bob', status: 'closed', version: 1, site: 'shop', started_at: at(0), ended_at: at(1), event_count: 1 },
  ],
  stage_transitions: [
    { transition_id: 't_a', customer_id: 'u:alice', to_stage: 'consideration', at: at(0), cause: 'event', message_id: 'a1', site: 'shop', journey_number: 1 },
    { transition_id: 't_b', customer_id: 'u:bob', to_stage: 'consideration', at: at(0), cause: 'event', message_id: 'b1', site: 'shop', referrer_customer_id: 'u:alice', journey_number: 1 },
  ],
  funnel_events: [
    { event_id: 'f_a1', kind: 'entry', stage: 'consideration', at: at(0, 10), customer_id: 'u:alice', site: 'shop', channel: 'web', device_type: 'mobile' },
    { event_id: 'f_b1', kind: 'entry', stage: 'consideration', at: at(0, 20), customer_id: 'u:bob', site: 'shop', channel: 'web', device_type: 'mobile' },
    { event_id: 'f_a2', kind: 'conversion', from_stage: 'consideration', stage: 'purchase', at: at(1, 5), customer_id: 'u:alice', site: 'shop', channel: 'web', device_type: 'mobile', seconds_to_convert: 55 },
    { event_id: 'f_b2', kind: 'conversion', from_stage: 'consideration', stage: 'purchase', at: at(1, 40), customer_id: 'u:bob', site: 'shop', channel: 'web', device_type: 'mobile', seconds_to_convert: 80 },
    { event_id: 'f_a3', kind: 'entry', stage: 'purchase', at: at(2), customer_id: 'u:alice', site: 'shop', channel: 'web', device_type: 'mobile' },
  ],
  churn_scores: [
    { customer_id: 'u:alice', at: at(1), score: 0.2, p_alive: 0.8, next_action: 'none' },
    { customer_id: 'u:bob', at: at(1), score: 0.4, p_alive: 0.6, next_action: 'none' },
  ],
  attribution: [
    { conversion_id: 'c_a', customer_id: 'u:alice', site: 'shop', converted_at: at(1), model: 'last_touch', touch_message_id: 'a1', channel: 'email', touch_at: at(0), credit: 1, version: 1 },
    { conversion_id: 'c_b', customer_id: 'u:bob', site: 'shop', converted_at: at(1), model: 'last_touch', touch_message_id: 'b1', channel: 'ads', touch_at: at(0), credit: 1, version: 1 },
  ],
  dead_letters: [
    { source_topic: 'touchpoints', stage: 'sessionizer', reason: 'bad', at: at(0), key: 'alice-phone', payload: '{}' },
    { source_topic: 'touchpoints', stage: 'sessionizer', reason: 'bad', at: at(0), key: 'bob-laptop', payload: '{}' },
  ],
};
/**
 * Every table the seed fills, views' targets included (churn_score_history, customer_journey,
 * customer_activity_weekly, funnel_minute, conversion_touchpoints_hourly), and the attribution snapshots.
 */
const AGGREGATES = ['funnel_minute', 'conversion_touchpoints_hourly', 'attribution_hourly', 'attribution_campaign_hourly', 'attribution_conversions_hourly'];
const TABLES = [...CUSTOMER_TABLES.map((t) => t.table), ...AGGREGATES];

/** A ClickHouse whose statements (DELETE, INSERT … SELECT, ALTER) fail after the first `allowed`: the process dies there. */
function dyingAfter(ch: ClickHouse, allowed: number): ClickHouse {
  let left = allowed;
  const client = new Proxy(ch.client, {
    get(target, prop, receiver) {
      if (prop !== 'command') return Reflect.get(target, prop, receiver);
      return async (params: Parameters<ClickHouse['client']['command']>[0]) => {
        if (left-- <= 0) throw new Error(`killed before statement ${allowed + 1}`);
        return target.command(params);
      };
    },
  });
  return { ...ch, client };
}

describe('erasing a customer\'s rows, stopped after any statement and run again', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase('erase');
  });
  afterAll(async () => db.drop());

  const seed = async () => {
    for (const table of TABLES) await db.ch.client.command({ query: `TRUNCATE TABLE ${db.database}.${table}` });
    for (const [table, values] of Object.entries(SEED)) {
      // A token of its own: a seed equal to an earlier one's must not be dropped as a retry.
      await db.ch.client.insert({ table: `${db.database}.${table}`, values, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: randomUUID() } });
    }
    // The snapshots hold Alice too before the erase.
    await refreshSnapshots(db.ch);
  };

  /** Every table's rows (sorted), the aggregates by value, and the snapshots (stage_counts, churn_ranked). */
  const snapshot = async () => {
    const out: Record<string, unknown> = {};
    const counts = await db.ch.client.query({ query: `SELECT site, stage, customers FROM ${db.database}.stage_counts ORDER BY site, stage`, format: 'JSONEachRow' });
    out.stage_counts = await counts.json();
    const ranked = await db.ch.client.query({ query: `SELECT customer_id, site, score FROM ${db.database}.churn_ranked ORDER BY customer_id`, format: 'JSONEachRow' });
    out.churn_ranked = await ranked.json();
    for (const table of TABLES.filter((t) => !AGGREGATES.includes(t))) {
      const rs = await db.ch.client.query({ query: `SELECT * FROM ${db.database}.${table}`, format: 'JSONEachRow' });
      out[table] = (await rs.json<Record<string, unknown>>()).map((r) => JSON.stringify(r)).sort();
    }
    const rs = await db.ch.client.query({
      query: `SELECT toString(minute) AS minute, toString(stage) AS stage, toString(kind) AS kind, countMerge(events) AS events, uniqMerge(customers) AS customers,
                     quantilesMerge(0.5, 0.75, 0.9, 0.95, 0.99)(seconds_to_convert) AS q
              FROM ${db.database}.funnel_minute GROUP BY minute, stage, kind ORDER BY minute, stage, kind`,
      format: 'JSONEachRow',
    });
    out.funnel_minute = (await rs.json<Record<string, unknown>>()).map((r) => ({ ...r, events: Number(r.events), customers: Number(r.customers) }));
    const conversions = await db.ch.client.query({
      query: `SELECT site, uniqExactMerge(message_ids) AS n FROM ${db.database}.conversion_touchpoints_hourly GROUP BY site, hour ORDER BY site, hour`,
      format: 'JSONEachRow',
    });
    out.conversion_touchpoints_hourly = (await conversions.json<{ site: string; n: string }>()).map((r) => ({ site: r.site, n: Number(r.n) }));
    const credit = await db.ch.client.query({
      query: `SELECT site, model, channel, credit, conversions FROM ${db.database}.attribution_hourly ORDER BY site, model, channel`,
      format: 'JSONEachRow',
    });
    out.attribution_hourly = (await credit.json<Record<string, unknown>>()).map((r) => ({ ...r, conversions: Number(r.conversions) }));
    const byCampaign = await db.ch.client.query({
      query: `SELECT site, model, campaign, credit FROM ${db.database}.attribution_campaign_hourly ORDER BY site, model, campaign`,
      format: 'JSONEachRow',
    });
    out.attribution_campaign_hourly = await byCampaign.json<Record<string, unknown>>();
    const counted = await db.ch.client.query({
      query: `SELECT site, attributed, conversions FROM ${db.database}.attribution_conversions_hourly ORDER BY site, hour`,
      format: 'JSONEachRow',
    });
    out.attribution_conversions_hourly = (await counted.json<{ site: string; attributed: string; conversions: string }>()).map((r) => ({ site: r.site, attributed: Number(r.attributed), conversions: Number(r.conversions) }));
    return out;
  };

  it('ends as a run that was never stopped: nothing of Alice anywhere, funnel_minute as Bob\'s alone, Bob\'s rows kept', async () => {
    await seed();
    let statements = 0;
    const counting = new Proxy(db.ch.client, {
      get: (target, prop, receiver) => (prop === 'command' ? (p: Parameters<ClickHouse['client']['command']>[0]) => (statements++, target.command(p)) : Reflect.get(target, prop, receiver)),
    });
    const deleted = await eraseCustomerRows({ ...db.ch, client: counting }, ALICE);
    expect(deleted).toMatchObject({ touchpoints: 2, touchpoints_by_customer: 2, sessions: 1, stage_transitions: 1, stage_transitions_by_customer: 1, funnel_events: 3, churn_scores: 1, attribution: 1, dead_letters: 1, funnel_minute: 3, conversion_touchpoints_hourly: 1, referrals_blanked: 1 });
    const clean = await snapshot();
    expect(JSON.stringify(clean)).not.toMatch(/alice/);
    // Bob's own funnel: one entry in minute 0, one conversion in minute 1, nothing in minute 2.
    expect(clean.funnel_minute).toEqual([
      { minute: minuteText(0), stage: 'consideration', kind: 'entry', events: 1, customers: 1, q: [null, null, null, null, null] },
      { minute: minuteText(1), stage: 'purchase', kind: 'conversion', events: 1, customers: 1, q: [80, 80, 80, 80, 80] },
    ]);
    expect((clean.touchpoints as string[]).map((r) => JSON.parse(r).message_id)).toEqual(['b1']);
    // The snapshots held Alice and Bob; they are recomputed without her.
    expect(clean.stage_counts).toEqual([{ site: 'shop', stage: 'consideration', customers: 1 }]);
    expect(clean.churn_ranked).toEqual([{ customer_id: 'u:bob', site: 'shop', score: 0.4 }]);
    // Bob's order alone, and his credit alone.
    expect(clean.conversion_touchpoints_hourly).toEqual([{ site: 'shop', n: 1 }]);
    expect(clean.attribution_hourly).toEqual([{ site: 'shop', model: 'last_touch', channel: 'ads', credit: 1, conversions: 1 }]);
    expect(clean.attribution_campaign_hourly).toEqual([{ site: 'shop', model: 'last_touch', campaign: null, credit: 1 }]);
    expect(clean.attribution_conversions_hourly).toEqual([{ site: 'shop', attributed: 1, conversions: 1 }]);
    expect(statements).toBeGreaterThan(5);

    for (let allowed = 0; allowed < statements; allowed++) {
      await seed();
      await expect(eraseCustomerRows(dyingAfter(db.ch, allowed), ALICE)).rejects.toThrow('killed');
      await eraseCustomerRows(db.ch, ALICE);
      expect(await snapshot(), `stopped after ${allowed} statements, then run again`).toEqual(clean);
    }
  });

  it('covers every table that holds a customer\'s ids: erased, or a snapshot the erase recomputes', async () => {
    // A table added later with a customer column must join CUSTOMER_TABLES (or be a snapshot):
    // otherwise a deletion would leave the customer there.
    const rs = await db.ch.client.query({
      query: `SELECT DISTINCT table FROM system.columns
              WHERE database = {db:String} AND name IN ('customer_id', 'user_id', 'anonymous_id', 'linked')
                AND table IN (SELECT name FROM system.tables WHERE database = {db:String} AND engine NOT IN ('MaterializedView', 'View'))`,
      query_params: { db: db.database },
      format: 'JSONEachRow',
    });
    const holding = (await rs.json<{ table: string }>()).map((r) => r.table).sort();
    const snapshots = SNAPSHOT_VIEWS.map((view) => view.replace(/_mv$/, ''));
    expect(holding.filter((table) => !CUSTOMER_TABLES.some((t) => t.table === table) && !snapshots.includes(table as never))).toEqual([]);
    expect(holding).toContain('customer_id_links');
  });

  it('a deletion stopped between its finished version and the removal of its pending ones keeps no raw id once the next executor starts', async () => {
    const table = deletionsTable(db.ch);
    const asked = await table.request({ kind: 'userId', id: 'alice', suppress: false, requestedBy: 'test' }, T0);
    const [pending] = (await table.pending()).filter((d) => d.deletionId === asked.deletionId);
    await table.resolved(pending!, ALICE);
    // The finished version is written, then the process dies before the pending versions go.
    await expect(deletionsTable(dyingAfter(db.ch, 0)).finished(pending!, { status: 'done', ids: ALICE, deletedRows: {}, at: T0 + 1 })).rejects.toThrow('killed');
    expect(await table.read(asked.deletionId)).toMatchObject({ status: 'done' });
    const rawIds = async () => {
      const rs = await db.ch.client.query({
        query: `SELECT count() AS n FROM ${db.database}.deletions WHERE deletion_id = {id:String} AND (requested_id != '' OR notEmpty(ids))`,
        query_params: { id: asked.deletionId },
        format: 'JSONEachRow',
      });
      return Number((await rs.json<{ n: string }>())[0]!.n);
    };
    expect(await rawIds()).toBe(2);
    expect(await table.removeFinishedPendingVersions()).toBe(1);
    expect(await rawIds()).toBe(0);
    expect(await table.read(asked.deletionId)).toMatchObject({ status: 'done', ids: 2 });
    expect(await table.removeFinishedPendingVersions()).toBe(0);
  });
});
