import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGES, type Stage } from '../../schemas/journey.js';
import { loadMigrations, migrate } from '../../services/platform/clickhouse/migrate.js';
import { chDateTime64, type ChurnRow } from '../../services/platform/clickhouse/rows.js';
import { refreshSnapshots } from '../../services/platform/clickhouse/snapshots.js';
import { buildQueryApi } from '../../services/query-api/app.js';
import { mondayOf } from '../../services/query-api/queries/cohorts.js';
import { eraseCustomerRows } from '../../services/writer/forget/erase-rows.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { createPrng } from '../support/prng.js';

/**
 * The pre-aggregated reads (docs/clickhouse.md, "Snapshots") answer exactly what the raw tables
 * answer with FINAL, on a fixture with what makes per-customer state hard: transitions arriving out
 * of order in many blocks, replayed (duplicate) rows in later blocks, stage regressions (lapses),
 * new journeys after advocacy, customers who change site, identity merges (the absorbed id keeps
 * its own rows, the survivor gets a `merged` transition), and erased customers.
 */
const T0 = Date.UTC(2026, 10, 2);
const MIN = 60_000;
const DAY = 86_400_000;
/** The query API's clock: cohorts count weeks up to this one. */
const NOW = T0 + 23 * DAY;
const SITES = ['shop', 'app', 'b2b'] as const;

interface TransitionRow {
  transition_id: string;
  customer_id: string;
  from_stage: Stage | null;
  to_stage: Stage;
  at: string;
  cause: string;
  message_id: string;
  site: string;
  channel: string;
  device_type: string;
  journey_number: number;
}

/**
 * Transitions of `customers` customers, each a chain as the journey step writes it (every `at`
 * distinct within a customer: argMax by `at` then has one answer), plus the rows of identity merges:
 * absorbed ids with chains of their own, and a `merged` transition of the survivor to the absorbed
 * id's stage when it was more recent.
 */
function fixture(seed: number, customers: number) {
  const random = createPrng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const rows: TransitionRow[] = [];
  let regressions = 0;
  let newJourneys = 0;
  let siteChanges = 0;
  let merges = 0;
  const chain = (customerId: string, startMs: number) => {
    let stage: Stage | null = null;
    let journey = 0;
    let site: string = pick(SITES);
    let at = startMs;
    const steps = 1 + Math.floor(random() * 8);
    for (let i = 0; i < steps; i++) {
      at += 1 + Math.floor(random() * 90 * MIN);
      const rank: number = stage === null ? -1 : STAGES.indexOf(stage);
      let to: Stage;
      let cause = 'rule:event';
      if (stage === 'advocacy' && random() < 0.6) {
        to = 'awareness'; // a referral starts a new journey
        journey++;
        newJourneys++;
      } else if (rank > 0 && random() < 0.25) {
        to = STAGES[Math.floor(random() * rank)]!; // lapsed back
        cause = 'lapsed';
        regressions++;
      } else if (rank < STAGES.length - 1) {
        to = STAGES[rank + 1 + Math.floor(random() * Math.min(2, STAGES.length - 1 - rank))]!;
        if (stage === null) journey = 1;
      } else continue;
      if (random() < 0.1) {
        site = pick(SITES.filter((s) => s !== site));
        siteChanges++;
      }
      rows.push({
        transition_id: `${customerId}-t${i}`, customer_id: customerId, from_stage: stage, to_stage: to, at: chDateTime64(at),
        cause, message_id: `${customerId}-m${i}`, site, channel: 'web', device_type: 'desktop', journey_number: journey,
      });
      stage = to;
    }
    return { stage, at, site, journey };
  };
  for (let c = 0; c < customers; c++) {
    const id = `u:c${c}`;
    const own = chain(id, T0 + Math.floor(random() * 600) * MIN);
    if (random() < 0.15) {
      const absorbed = chain(`a:dev${c}`, T0 + Math.floor(random() * 600) * MIN);
      merges++;
      if (absorbed.stage !== null && absorbed.stage !== own.stage && absorbed.at > own.at) {
        rows.push({
          transition_id: `${id}-merged`, customer_id: id, from_stage: own.stage, to_stage: absorbed.stage, at: chDateTime64(absorbed.at + 1),
          cause: 'merged', message_id: '', site: absorbed.site, channel: 'web', device_type: 'desktop', journey_number: Math.max(own.journey, absorbed.journey),
        });
      }
    }
  }
  return { rows, regressions, newJourneys, siteChanges, merges };
}

/** A churn_scores row (rows.ts), with the stage typed. */
type ScoreRow = ChurnRow & { stage: Stage | null };

/**
 * Churn scores of the fixture's customers (and of customers without a journey): one to four per
 * customer at increasing times (re-scored: the newest counts, whatever its order of arrival), scores
 * in hundredths so that customers tie and the order falls to their ids.
 */
function scores(customerIds: readonly string[], seed: number): ScoreRow[] {
  const random = createPrng(seed);
  const out: ScoreRow[] = [];
  for (const id of [...customerIds, ...Array.from({ length: 40 }, (_, i) => `u:nojourney${i}`)]) {
    let at = T0 + Math.floor(random() * 600) * MIN;
    for (let k = 1 + Math.floor(random() * 4); k > 0; k--) {
      at += 1 + Math.floor(random() * 600) * MIN;
      const score = Math.floor(random() * 100) / 100;
      out.push({
        customer_id: id, at: chDateTime64(at), score, p_alive: 1 - score, reasons: score > 0.5 ? ['no visit in 21 days'] : [],
        next_action: score > 0.7 ? 'send win-back email' : 'none', stage: random() < 0.1 ? null : STAGES[Math.floor(random() * 5)]!, crossed_threshold: score >= 0.7,
      });
    }
  }
  return out;
}

interface TouchpointRow {
  message_id: string;
  customer_id: string;
  site: string;
  ts: string;
  event: string;
  revenue: number | null;
}

/**
 * Touchpoints of customers over fourteen weeks around `T0` (some after the API's now, which the
 * cohorts leave out), a few on a second site, with purchases ('Order Completed', or revenue on
 * another event, renewals): a customer's first purchase, their cohort, can arrive after later ones.
 */
function touchpoints(customers: number, seed: number): TouchpointRow[] {
  const random = createPrng(seed);
  const out: TouchpointRow[] = [];
  for (let c = 0; c < customers; c++) {
    const home = SITES[c % SITES.length]!;
    for (let k = 1 + Math.floor(random() * 12); k > 0; k--) {
      const purchase = random() < 0.2;
      out.push({
        message_id: `tp-${c}-${k}`, customer_id: `u:c${c}`, site: random() < 0.15 ? SITES[(c + 1) % SITES.length]! : home,
        ts: chDateTime64(T0 - 70 * DAY + Math.floor(random() * 100 * DAY)),
        event: purchase && random() < 0.7 ? 'Order Completed' : 'Product Viewed', revenue: purchase && random() < 0.5 ? 20 : null,
      });
    }
  }
  return out;
}

/** Shuffled into blocks of various sizes (late rows), then a sixth of them again in later blocks (replays). */
function blocks<R>(rows: readonly R[], seed: number): R[][] {
  const random = createPrng(seed);
  const shuffled = [...rows];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const replays = shuffled.filter(() => random() < 1 / 6);
  const out: R[][] = [];
  for (const list of [shuffled, replays]) {
    for (let i = 0; i < list.length; ) {
      const size = 1 + Math.floor(random() * 60);
      out.push(list.slice(i, i + size));
      i += size;
    }
  }
  return out;
}

describe('pre-aggregated reads equal the raw tables read with FINAL', () => {
  let db: TestDatabase;
  let api: FastifyInstance;
  const made = fixture(17, 400);
  const scored = scores([...new Set(made.rows.map((r) => r.customer_id))], 19);
  const touched = touchpoints(300, 21);
  const inserted = { stage_transitions: 0, churn_scores: 0, touchpoints: 0 };

  const rows = async <T>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> => {
    const rs = await db.ch.client.query({ query: sql.replaceAll('{db}', db.database), query_params: params, format: 'JSONEachRow' });
    return rs.json<T>();
  };
  const get = async <T>(url: string): Promise<T> => {
    const response = await api.inject({ url });
    expect(response.statusCode, `${url}: ${response.body}`).toBe(200);
    return response.json<T>();
  };

  /** The question of /api/stages/current asked of stage_transitions FINAL: each customer's newest transition. */
  const rawCurrentStages = async (site?: string) => {
    const counts = await rows<{ stage: Stage; customers: string }>(
      `SELECT stage, count() AS customers
       FROM (SELECT argMax(to_stage, at) AS stage, argMax(site, at) AS site FROM {db}.stage_transitions FINAL GROUP BY customer_id)
       WHERE ${site === undefined ? '1' : 'site = {site:String}'}
       GROUP BY stage`,
      site === undefined ? {} : { site },
    );
    const of = (stage: Stage) => Number(counts.find((r) => r.stage === stage)?.customers ?? 0);
    const total = STAGES.reduce((sum, stage) => sum + of(stage), 0);
    return { site: site ?? null, customers: total, stages: STAGES.map((stage) => ({ stage, customers: of(stage), share: total === 0 ? null : of(stage) / total })) };
  };

  /**
   * The question of /api/churn asked of churn_scores FINAL, the site being that of the customer's
   * newest transition (stage_transitions FINAL).
   */
  const rawChurn = async (limit: number, minScore: number, site?: string) => {
    const siteCondition =
      site === undefined ? '' : 'AND c.customer_id IN (SELECT customer_id FROM {db}.stage_transitions FINAL GROUP BY customer_id HAVING argMax(site, at) = {site:String})';
    const list = await rows<{ customer_id: string; score: number; p_alive: number; reasons: string[]; next_action: string; stage: Stage | null; crossed_threshold: boolean; at_ms: string; total: string }>(
      `SELECT c.customer_id AS customer_id, c.score AS score, c.p_alive AS p_alive, c.reasons AS reasons, c.next_action AS next_action,
         c.stage AS stage, c.crossed_threshold AS crossed_threshold, toUnixTimestamp64Milli(c.at) AS at_ms, count() OVER () AS total
       FROM {db}.churn_scores AS c FINAL
       WHERE c.score >= {minScore:Float64} ${siteCondition}
       ORDER BY c.score DESC, c.customer_id
       LIMIT {limit:UInt32}`,
      { limit, minScore, ...(site === undefined ? {} : { site }) },
    );
    return {
      minScore,
      site: site ?? null,
      atRisk: Number(list[0]?.total ?? 0),
      customers: list.map((r) => ({
        customerId: r.customer_id, score: r.score, pAlive: r.p_alive, reasons: r.reasons, nextAction: r.next_action, stage: r.stage,
        crossedThreshold: Boolean(r.crossed_threshold), at: new Date(Number(r.at_ms)).toISOString(),
      })),
    };
  };

  const expectChurnExact = async () => {
    for (const site of [undefined, ...SITES, 'nowhere']) {
      for (const [limit, minScore] of [[12, 0.5], [500, 0], [7, 0.9], [500, 0.33]] as const) {
        const url = `/api/churn?limit=${limit}&minScore=${minScore}${site === undefined ? '' : `&site=${site}`}`;
        expect(await get(url), url).toEqual(await rawChurn(limit, minScore, site));
      }
    }
  };

  /**
   * The question of /api/cohorts asked of touchpoints FINAL: each customer's first purchase week
   * (within the site, if one is asked for) since `weeks` ago, and the cohort's customers active and
   * purchasing in each week after it, up to this week. Cells as `cohort|week offset` → counts.
   */
  const rawCohorts = async (weeks: number, site?: string) => {
    const thisWeek = mondayOf(NOW);
    const since = thisWeek - (weeks - 1) * 7 * DAY;
    const cells = await rows<{ cohort: string; week_offset: number; active: string; purchasing: string }>(
      `WITH t AS (
         SELECT customer_id, toMonday(ts) AS week, event IN ('Order Completed', 'Contract Signed') OR ifNull(revenue, 0) > 0 AS purchase
         FROM {db}.touchpoints FINAL WHERE ${site === undefined ? '1' : 'site = {site:String}'}
       ),
       f AS (SELECT customer_id, min(week) AS cohort FROM t WHERE purchase GROUP BY customer_id HAVING cohort >= {since:Date})
       SELECT toString(f.cohort) AS cohort, toUInt32(dateDiff('week', f.cohort, t.week)) AS week_offset,
         uniqExact(t.customer_id) AS active, uniqExactIf(t.customer_id, t.purchase) AS purchasing
       FROM t INNER JOIN f ON t.customer_id = f.customer_id
       WHERE t.week >= f.cohort AND t.week <= {thisWeek:Date}
       GROUP BY f.cohort, week_offset`,
      { since: new Date(since).toISOString().slice(0, 10), thisWeek: new Date(thisWeek).toISOString().slice(0, 10), ...(site === undefined ? {} : { site }) },
    );
    return Object.fromEntries(cells.map((r) => [`${r.cohort}|${r.week_offset}`, [Number(r.active), Number(r.purchasing)]]));
  };

  const expectCohortsExact = async () => {
    for (const site of [undefined, ...SITES, 'nowhere']) {
      for (const weeks of [4, 8, 20]) {
        const url = `/api/cohorts?weeks=${weeks}${site === undefined ? '' : `&site=${site}`}`;
        const answer = await get<{ cohorts: Array<{ cohort: string; customers: number; retention: Array<{ week: number; active: number; purchasing: number }> }> }>(url);
        const raw = await rawCohorts(weeks, site);
        const cells: Record<string, number[]> = {};
        for (const c of answer.cohorts) {
          expect(c.customers, `${url} ${c.cohort}`).toBe(raw[`${c.cohort}|0`]?.[0] ?? 0);
          for (const r of c.retention) if (r.active > 0 || r.purchasing > 0) cells[`${c.cohort}|${r.week}`] = [r.active, r.purchasing];
        }
        expect(answer.cohorts).toHaveLength(weeks);
        expect(cells, url).toEqual(raw);
      }
    }
  };

  const expectStagesExact = async () => {
    for (const site of [undefined, ...SITES, 'nowhere']) {
      const url = `/api/stages/current${site === undefined ? '' : `?site=${site}`}`;
      const answer = await get<{ customers: number; stages: Array<{ stage: Stage; customers: number; share: number | null }> }>(url);
      const raw = await rawCurrentStages(site);
      expect(answer.customers, url).toBe(raw.customers);
      expect(answer.stages.map((s) => [s.stage, s.customers]), url).toEqual(raw.stages.map((s) => [s.stage, s.customers]));
      for (const [i, s] of answer.stages.entries()) {
        const share = raw.stages[i]!.share;
        if (share === null) expect(s.share, url).toBeNull();
        else expect(s.share, url).toBeCloseTo(share, 12);
      }
    }
  };

  beforeAll(async () => {
    db = await freshDatabase('preagg');
    for (const block of blocks(made.rows, 18)) {
      inserted.stage_transitions += block.length;
      // A token of its own per block: a replay is a new block, as after a journey step's crash.
      await db.ch.client.insert({
        table: `${db.database}.stage_transitions`,
        values: block,
        format: 'JSONEachRow',
        clickhouse_settings: { insert_deduplication_token: randomUUID() },
      });
    }
    for (const block of blocks(scored, 20)) {
      inserted.churn_scores += block.length;
      await db.ch.client.insert({
        table: `${db.database}.churn_scores`,
        values: block,
        format: 'JSONEachRow',
        clickhouse_settings: { insert_deduplication_token: randomUUID() },
      });
    }
    for (const block of blocks(touched, 22)) {
      inserted.touchpoints += block.length;
      await db.ch.client.insert({
        table: `${db.database}.touchpoints`,
        values: block,
        format: 'JSONEachRow',
        clickhouse_settings: { insert_deduplication_token: randomUUID() },
      });
    }
    await refreshSnapshots(db.ch);
    api = buildQueryApi({ clickhouse: db.ch, logger: pino({ level: 'silent' }), metrics: new Registry(), now: () => NOW, cacheTtlMs: 0 });
  });

  afterAll(async () => {
    await api?.close();
    await db?.drop();
  });

  it('has the cases it is about: replays, regressions, new journeys, site changes, merges, re-scored customers and tied scores', async () => {
    // Replayed rows were inserted (merges may have collapsed them since).
    expect(inserted.churn_scores).toBeGreaterThan(scored.length);
    expect(inserted.stage_transitions).toBeGreaterThan(made.rows.length);
    const [churn] = await rows<{ customers: string; tied: string }>(
      'SELECT uniqExact(customer_id) AS customers, (SELECT count() - uniqExact(score) FROM {db}.churn_scores FINAL) AS tied FROM {db}.churn_scores',
    );
    expect(Number(churn!.customers)).toBeLessThan(scored.length / 2);
    expect(Number(churn!.tied)).toBeGreaterThan(100);
    const [stored] = await rows<{ distinct: string }>('SELECT uniqExact(transition_id) AS distinct FROM {db}.stage_transitions');
    expect(Number(stored!.distinct)).toBe(made.rows.length);
    expect(made.regressions).toBeGreaterThan(20);
    expect(made.newJourneys).toBeGreaterThan(5);
    expect(made.siteChanges).toBeGreaterThan(20);
    expect(made.merges).toBeGreaterThan(20);
    expect(inserted.touchpoints).toBeGreaterThan(touched.length);
    // Cohorts with retention in the weeks after them.
    const cells = Object.keys(await rawCohorts(12));
    expect(cells.filter((k) => !k.endsWith('|0')).length).toBeGreaterThan(10);
    expect(made.rows.filter((r) => r.cause === 'merged').length).toBeGreaterThan(5);
  });

  it('/api/stages/current: customers per current stage, every site and each, as stage_transitions FINAL says', async () => {
    await expectStagesExact();
  });

  it('/api/churn: the riskiest customers by newest score and how many are at risk, every site and each, as churn_scores FINAL says', async () => {
    await expectChurnExact();
  });

  it('/api/cohorts: weekly retention of first-purchase cohorts, every site and each, as touchpoints FINAL says', async () => {
    await expectCohortsExact();
  });

  it('a customer who moves on and is re-scored, and replays of old rows, change the answers as they change the raw ones', async () => {
    const moved = made.rows.find((r) => r.customer_id === 'u:c3')!;
    const later: TransitionRow = { ...moved, transition_id: 'u:c3-later', from_stage: null, to_stage: 'advocacy', at: chDateTime64(T0 + 20 * 86_400_000), site: 'b2b' };
    for (const values of [[later], made.rows.slice(0, 40), [later]]) {
      await db.ch.client.insert({ table: `${db.database}.stage_transitions`, values, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: randomUUID() } });
    }
    const rescored: ScoreRow = { ...scored.find((r) => r.customer_id === 'u:c3')!, at: chDateTime64(T0 + 20 * 86_400_000), score: 0.995 };
    for (const values of [[rescored], scored.slice(0, 40)]) {
      await db.ch.client.insert({ table: `${db.database}.churn_scores`, values, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: randomUUID() } });
    }
    // An earlier first purchase arrives late: the customer moves to an older cohort.
    const buyer = touched.find((t) => t.event === 'Order Completed' && t.ts > chDateTime64(T0))!;
    const earlier: TouchpointRow = { ...buyer, message_id: 'tp-late-first', ts: chDateTime64(T0 - 40 * DAY) };
    for (const values of [[earlier], touched.slice(0, 60)]) {
      await db.ch.client.insert({ table: `${db.database}.touchpoints`, values, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: randomUUID() } });
    }
    await refreshSnapshots(db.ch);
    await expectStagesExact();
    await expectChurnExact();
    await expectCohortsExact();
    expect((await get<{ customers: Array<{ customerId: string }> }>('/api/churn?site=b2b&limit=1')).customers).toEqual([expect.objectContaining({ customerId: 'u:c3', score: 0.995 })]);
    expect((await rawCurrentStages('b2b')).stages.find((s) => s.stage === 'advocacy')!.customers).toBeGreaterThan(0);
  });

  it('an erased customer, survivor or absorbed id, leaves the counts, the churn list and the cohorts with the erase', async () => {
    const before = await get<{ customers: number }>('/api/stages/current');
    const churnBefore = await get<{ atRisk: number }>('/api/churn?minScore=0');
    const cohortBefore = await get<{ cohorts: Array<{ customers: number }> }>('/api/cohorts?weeks=20');
    // A survivor who also bought: it leaves a cohort too.
    const bought = (id: string) => touched.some((t) => t.customer_id === id && (t.event === 'Order Completed' || t.revenue !== null));
    const survivor = made.rows.find((r) => r.cause === 'merged' && bought(r.customer_id))!.customer_id;
    const absorbed = made.rows.find((r) => r.customer_id.startsWith('a:'))!.customer_id;
    await eraseCustomerRows(db.ch, [survivor, absorbed]);
    const after = await get<{ customers: number }>('/api/stages/current');
    expect(after.customers).toBe(before.customers - 2);
    expect((await get<{ atRisk: number }>('/api/churn?minScore=0')).atRisk).toBe(churnBefore.atRisk - 2);
    const customersIn = (r: { cohorts: Array<{ customers: number }> }) => r.cohorts.reduce((sum, c) => sum + c.customers, 0);
    expect(customersIn(await get('/api/cohorts?weeks=20'))).toBe(customersIn(cohortBefore) - 1);
    await expectStagesExact();
    await expectChurnExact();
    await expectCohortsExact();
  });
});

describe('the snapshots on a database that had journeys before them', () => {
  it('count the customers whose transitions were written before migration 021', async () => {
    const db = await freshDatabase('preagg_old', { migrate: false });
    try {
      const target = { database: db.database, touchpointTtlDays: 3650 };
      await migrate(db.ch.client, target, loadMigrations().filter((m) => m.version < 21));
      const { rows } = fixture(5, 60);
      await db.ch.client.insert({ table: `${db.database}.stage_transitions`, values: rows, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: randomUUID() } });
      await migrate(db.ch.client, target);
      await refreshSnapshots(db.ch);
      const read = async (sql: string) => (await (await db.ch.client.query({ query: sql, format: 'JSONEachRow' })).json<{ site: string; stage: string; n: string }>()).map((r) => `${r.site} ${r.stage} ${r.n}`).sort();
      const counts = await read(`SELECT site, stage, customers AS n FROM ${db.database}.stage_counts`);
      expect(counts.length).toBeGreaterThan(5);
      expect(counts).toEqual(
        await read(`SELECT site, stage, count() AS n FROM (SELECT argMax(site, at) AS site, argMax(to_stage, at) AS stage FROM ${db.database}.stage_transitions FINAL GROUP BY customer_id) GROUP BY site, stage`),
      );
    } finally {
      await db.drop();
    }
  });
});
