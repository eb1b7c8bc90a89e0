import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../services/platform/clickhouse/migrate.js';
import { chDateTime64 } from '../../services/platform/clickhouse/rows.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { createPrng } from '../support/prng.js';

/**
 * The per-customer tables (what the profile and timeline API read; migration 032, two of them rebuilt
 * by 033) hold exactly what their sources say, for rows written before 032, between 032 and 033 (033's
 * backfill) and after both (the views), replays included.
 */
const T0 = Date.UTC(2026, 10, 2);
const MIN = 60_000;

/** Touchpoints of customers whose ids were stitched: anonymous before login, some users on two devices. */
function touchpoints(seed: number, count: number) {
  const prng = createPrng(seed);
  return Array.from({ length: count }, (_, i) => {
    const person = Math.floor(prng() * 20);
    const loggedIn = prng() < 0.6;
    return {
      message_id: `m-${seed}-${i}`,
      customer_id: loggedIn ? `u:user${person}` : `a:dev${person}-${Math.floor(prng() * 2)}`,
      user_id: loggedIn ? `user${person}` : null,
      anonymous_id: prng() < 0.8 ? `dev${person}-${Math.floor(prng() * 2)}` : null,
      // One account per person (so ties in time cannot pick another), named on some touchpoints.
      account_id: prng() < 0.3 ? `acct${person % 3}` : null,
      site: prng() < 0.5 ? 'shop' : 'app',
      event: 'Product Viewed',
      ts: chDateTime64(T0 + Math.floor(prng() * 1_000) * MIN),
      properties: `{"i":${i}}`,
    };
  });
}

function transitions(seed: number, count: number) {
  const prng = createPrng(seed);
  return Array.from({ length: count }, (_, i) => ({
    transition_id: `tr-${seed}-${i}`,
    customer_id: `u:user${Math.floor(prng() * 20)}`,
    to_stage: 'consideration',
    at: chDateTime64(T0 + seed * 1_000 * MIN + i * MIN),
    from_stage: i % 2 === 0 ? null : 'awareness',
    account_id: i % 5 === 0 ? `acct${i % 3}` : null,
    cause: 'rule',
    message_id: `m-${i}`,
    site: 'shop',
    journey_number: 1,
  }));
}

/** Churn scores, each at its own instant; later seeds re-score some customers. */
function churnScores(seed: number, count: number) {
  const prng = createPrng(seed);
  return Array.from({ length: count }, (_, i) => ({
    customer_id: `u:user${Math.floor(prng() * 20)}`,
    at: chDateTime64(T0 + seed * 1_000 * MIN + i * MIN),
    score: Math.round(prng() * 100) / 100,
    p_alive: 0.5,
    reasons: prng() < 0.5 ? ['silent for 30 days'] : [],
    next_action: prng() < 0.5 ? 'win-back email' : 'none',
    stage: 'retention',
    crossed_threshold: prng() < 0.2,
  }));
}

/** Session versions; every third session of the later batches moves to another customer in a later version. */
function sessions(seed: number, count: number) {
  const rows = Array.from({ length: count }, (_, i) => ({
    session_id: `s-${seed}-${i}`,
    customer_id: `u:user${i % 20}`,
    status: 'opened',
    version: 1,
    site: 'shop',
    started_at: chDateTime64(T0 + i * MIN),
    ended_at: chDateTime64(T0 + i * MIN),
    event_count: 1,
  }));
  const moved = seed > 1 ? rows.filter((_, i) => i % 3 === 0).map((r) => ({ ...r, customer_id: 'u:user99', status: 'updated', version: 2 })) : [];
  return [...rows, ...moved];
}

const insert = (db: TestDatabase, table: string, values: Array<Record<string, unknown>>) =>
  db.ch.client.insert({ table: `${db.database}.${table}`, values, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: randomUUID() } });

const read = async (db: TestDatabase, sql: string) =>
  (await (await db.ch.client.query({ query: sql.replaceAll('{db}', db.database), format: 'JSONEachRow' })).json<Record<string, unknown>>()).map((r) => JSON.stringify(r)).sort();

describe('customer lookup tables (migrations 032, 033, 034)', () => {
  it('equal their sources for rows written before the migrations, between them and after them, replays included', async () => {
    const db = await freshDatabase('lookups', { migrate: false });
    try {
      const target = { database: db.database, touchpointTtlDays: 3650 };
      await migrate(db.ch.client, target, loadMigrations().filter((m) => m.version < 32));
      const before = touchpoints(1, 300);
      await insert(db, 'touchpoints', before);
      await insert(db, 'stage_transitions', transitions(1, 40));
      await insert(db, 'sessions', sessions(1, 30));
      await migrate(db.ch.client, target, loadMigrations().filter((m) => m.version < 33));
      await insert(db, 'touchpoints', touchpoints(2, 300));
      await insert(db, 'sessions', sessions(2, 30));
      await insert(db, 'churn_scores', churnScores(2, 30));
      await migrate(db.ch.client, target, loadMigrations().filter((m) => m.version < 34));
      await insert(db, 'touchpoints', touchpoints(4, 300));
      await insert(db, 'churn_scores', churnScores(3, 30));
      await insert(db, 'stage_transitions', transitions(3, 40));
      await migrate(db.ch.client, target);
      await insert(db, 'touchpoints', touchpoints(3, 300));
      await insert(db, 'touchpoints', before.slice(0, 50)); // a replay (another token: not dropped as a retry)
      await insert(db, 'stage_transitions', transitions(2, 40));
      await insert(db, 'sessions', sessions(3, 30));
      await insert(db, 'churn_scores', churnScores(4, 30));
      await insert(db, 'churn_scores', churnScores(3, 10)); // a replay

      const columns = 'message_id, customer_id, user_id, anonymous_id, site, ts, properties';
      const timeline = await read(db, `SELECT ${columns} FROM {db}.touchpoints_by_customer FINAL`);
      expect(timeline).toHaveLength(1200);
      expect(timeline).toEqual(await read(db, `SELECT ${columns} FROM {db}.touchpoints FINAL`));

      const history = await read(db, 'SELECT transition_id, customer_id, to_stage, at FROM {db}.stage_transitions_by_customer FINAL');
      expect(history).toHaveLength(120);
      expect(history).toEqual(await read(db, 'SELECT transition_id, customer_id, to_stage, at FROM {db}.stage_transitions FINAL'));

      // Rows written before 033 come from its backfill out of `sessions`, which keeps each session's
      // newest version only (whoever's it is); after it, the view adds per (customer, session) the
      // newest version under that customer.
      const sessionColumns = 'customer_id, session_id, version, status, site, started_at, ended_at, event_count';
      const versions = await read(db, `SELECT ${sessionColumns} FROM {db}.sessions_by_customer FINAL`);
      const newest = new Map<string, ReturnType<typeof sessions>[number]>();
      const keep = (key: string, v: ReturnType<typeof sessions>[number]) => {
        if ((newest.get(key)?.version ?? 0) < v.version) newest.set(key, v);
      };
      for (const v of [...sessions(1, 30), ...sessions(2, 30)]) keep(v.session_id, v);
      for (const v of sessions(3, 30)) keep(`${v.customer_id}|${v.session_id}`, v);
      expect(versions).toHaveLength(60 + 30 + 10);
      expect(versions).toEqual(
        [...newest.values()]
          .map((v) => JSON.stringify({ customer_id: v.customer_id, session_id: v.session_id, version: v.version, status: v.status, site: v.site, started_at: v.started_at, ended_at: v.ended_at, event_count: v.event_count }))
          .sort(),
      );

      // The adjacency, asked independently of the views' array form: every id of a touchpoint with its
      // customer id, both ways, the customer flag on the side that is the customer id.
      const links = await read(db, 'SELECT DISTINCT id, linked, linked_is_customer FROM {db}.customer_id_links');
      const expected = await read(
        db,
        `WITH ids AS (
           SELECT customer_id AS c, customer_id AS x FROM {db}.touchpoints
           UNION ALL SELECT customer_id, concat('u:', assumeNotNull(user_id)) FROM {db}.touchpoints WHERE user_id IS NOT NULL
           UNION ALL SELECT customer_id, concat('a:', assumeNotNull(anonymous_id)) FROM {db}.touchpoints WHERE anonymous_id IS NOT NULL
         )
         SELECT DISTINCT id, linked, linked_is_customer FROM (
           SELECT x AS id, c AS linked, true AS linked_is_customer FROM ids
           UNION ALL SELECT c AS id, x AS linked, x = c AS linked_is_customer FROM ids
         )`,
      );
      expect(links.length).toBeGreaterThan(60);
      expect(links).toEqual(expected);

      // customer_summary (034): per id, the journey as customer_journey has it, the newest churn score
      // as churn_scores FINAL has it, and the account of the newest touchpoint naming one.
      const summary = (part: string, where: string) =>
        read(db, `SELECT * FROM (SELECT customer_id, ${part} FROM {db}.customer_summary GROUP BY customer_id) WHERE ${where}`);
      const journeys = await summary(
        'argMaxMerge(stage) AS stage, max(entered_at) AS entered_at, argMaxMerge(previous_stage) AS previous_stage, argMaxMerge(journey_account_id) AS account_id, max(journey_number) AS journey_number',
        'entered_at IS NOT NULL',
      );
      expect(journeys).toHaveLength(20);
      expect(journeys).toEqual(
        await read(db, `SELECT customer_id, argMaxMerge(stage) AS stage, CAST(max(entered_at) AS Nullable(DateTime64(3, 'UTC'))) AS entered_at,
          argMaxMerge(previous_stage) AS previous_stage, argMaxMerge(account_id) AS account_id, max(journey_number) AS journey_number
          FROM {db}.customer_journey GROUP BY customer_id`),
      );
      const scores = await summary('max(churn_at) AS at, argMaxMerge(churn) AS churn', 'at IS NOT NULL');
      expect(scores.length).toBeGreaterThan(15);
      expect(scores).toEqual(
        await read(db, `SELECT customer_id, CAST(at AS Nullable(DateTime64(3, 'UTC'))) AS at,
          (score, p_alive, reasons, next_action, stage, crossed_threshold)::Tuple(score Float64, p_alive Float64, reasons Array(String), next_action String, stage Nullable(Enum8('awareness' = 1, 'consideration' = 2, 'purchase' = 3, 'retention' = 4, 'advocacy' = 5)), crossed_threshold Bool) AS churn
          FROM {db}.churn_scores FINAL`),
      );
      const accounts = await summary('argMaxMerge(account_id) AS account, max(account_at) AS at', 'at IS NOT NULL');
      expect(accounts.length).toBeGreaterThan(20);
      expect(accounts).toEqual(
        await read(db, `SELECT customer_id, argMax(assumeNotNull(account_id), ts) AS account, CAST(max(ts) AS Nullable(DateTime64(3, 'UTC'))) AS at
          FROM {db}.touchpoints FINAL WHERE account_id IS NOT NULL GROUP BY customer_id`),
      );
    } finally {
      await db.drop();
    }
  });
});
