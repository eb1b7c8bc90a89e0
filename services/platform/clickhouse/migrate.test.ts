import { describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { loadMigrations, migrate, renderStatement, type MigrationTarget } from './migrate.js';

const single: MigrationTarget = { database: 'journey', touchpointTtlDays: 90 };
const cluster: MigrationTarget = { database: 'journey', cluster: 'main', touchpointTtlDays: 90 };
const render = (target: MigrationTarget) =>
  loadMigrations()
    .flatMap((m) => m.statements)
    .map((s) => renderStatement(s, target))
    .filter((s) => s.length > 0);

/** An in-memory stand-in for the client: records DDL and remembers schema_migrations rows. */
function fakeClient() {
  const commands: string[] = [];
  const versions: number[] = [];
  const client = {
    command: async ({ query }: { query: string }) => void commands.push(query),
    query: async () => ({ json: async () => versions.map((version) => ({ version })) }),
    insert: async ({ values }: { values: { version: number }[] }) => void versions.push(...values.map((v) => v.version)),
  };
  return { client: client as unknown as ClickHouseClient, commands };
}

describe('migrations on a single node', () => {
  it('load in version order, each version once, with no empty statement', () => {
    const migrations = loadMigrations();
    const versions = migrations.map((m) => m.version);
    expect(versions).toEqual([...new Set(versions)].sort((a, b) => a - b));
    expect(versions[0]).toBe(1);
    for (const m of migrations) expect(m.statements.length).toBeGreaterThan(0);
  });

  it('load identically twice (the loader is a pure function of the files)', () => {
    expect(loadMigrations()).toEqual(loadMigrations());
  });

  it('render plain MergeTree tables under their own names, without cluster-only statements', () => {
    const ddl = render(single);
    expect(ddl.join('\n')).not.toMatch(/ON CLUSTER|Replicated|Distributed|_local|\{(db|local|cluster|on_cluster|ttl_days|cluster_only)\}/);
    expect(ddl).toContainEqual(expect.stringContaining('CREATE TABLE IF NOT EXISTS journey.touchpoints'));
    expect(ddl).toContainEqual(expect.stringContaining('TTL toDateTime(ts) + INTERVAL 90 DAY'));
    expect(ddl).toContainEqual(expect.stringMatching(/CREATE MATERIALIZED VIEW IF NOT EXISTS journey.funnel_minute_mv\s+TO journey.funnel_minute AS/));
  });

  it('apply every migration once, and nothing on a second run', async () => {
    const { client, commands } = fakeClient();
    const first = await migrate(client, single);
    expect(first.applied).toEqual(loadMigrations().map((m) => m.version));
    const ddlCount = commands.length;
    const second = await migrate(client, single);
    expect(second.applied).toEqual([]);
    expect(second.skipped).toEqual(first.applied);
    // The second run only re-asserts the database and the bookkeeping table.
    expect(commands.length - ddlCount).toBe(2);
    expect(commands.some((c) => c.trim() === '')).toBe(false);
  });
});

describe('migrations on a cluster', () => {
  const ddl = render(cluster);
  const statementFor = (pattern: RegExp) => ddl.find((s) => pattern.test(s)) ?? '';

  it('run every DDL ON CLUSTER', () => {
    for (const s of ddl.filter((s) => !s.startsWith('INSERT'))) expect(s).toContain("ON CLUSTER 'main'");
  });

  it('backfill into the local table of the shard the migration runs on (docs say: every shard)', () => {
    const backfills = ddl.filter((s) => s.startsWith('INSERT'));
    expect(backfills).toHaveLength(11);
    expect(backfills[0]).toMatch(/^INSERT INTO journey\.customer_stage_local\s/);
    expect(backfills[0]).toContain('FROM journey.stage_transitions_local AS t');
    expect(backfills[1]).toMatch(/^INSERT INTO journey\.conversion_touchpoints_hourly_local\s/);
    expect(backfills[1]).toContain('FROM journey.touchpoints_local AS t');
    expect(backfills[2]).toMatch(/^INSERT INTO journey\.customer_id_links_local\s/);
    expect(backfills[2]).toContain('FROM journey.touchpoints_local AS t');
    expect(backfills[3]).toMatch(/^INSERT INTO journey\.touchpoints_by_customer_local\s/);
    expect(backfills[3]).toContain('FROM journey.touchpoints_local AS t');
    expect(backfills[4]).toMatch(/^INSERT INTO journey\.sessions_by_customer_local\s/);
    expect(backfills[4]).toContain('FROM journey.sessions_local AS s');
    expect(backfills[5]).toMatch(/^INSERT INTO journey\.stage_transitions_by_customer_local\s/);
    expect(backfills[5]).toContain('FROM journey.stage_transitions_local AS t');
    // Migration 033 rebuilds two of them from their sources.
    expect(backfills[6]).toMatch(/^INSERT INTO journey\.touchpoints_by_customer_local\s/);
    expect(backfills[6]).toContain('FROM journey.touchpoints_local AS t');
    expect(backfills[7]).toMatch(/^INSERT INTO journey\.sessions_by_customer_local\s/);
    expect(backfills[7]).toContain('FROM journey.sessions_local AS s');
    // Migration 034 fills customer_summary from its three sources.
    for (const [i, source] of [[8, 'stage_transitions_local AS t'], [9, 'churn_scores_local AS c'], [10, 'touchpoints_local AS t']] as const) {
      expect(backfills[i]).toMatch(/^INSERT INTO journey\.customer_summary_local\s/);
      expect(backfills[i]).toContain(`FROM journey.${source}`);
    }
  });

  it('store rows in Replicated *_local tables, keeping engine arguments', () => {
    const sessions = statementFor(/CREATE TABLE IF NOT EXISTS journey\.sessions_local /);
    expect(sessions).toContain(
      "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version)",
    );
    expect(statementFor(/journey\.funnel_minute_local /)).toContain('ENGINE = ReplicatedAggregatingMergeTree(');
    expect(statementFor(/journey\.dead_letters_local /)).toContain('ENGINE = ReplicatedMergeTree(');
  });

  it('put a Distributed table under every plain name, sharded by customer except where versions move', () => {
    const distributed = ddl.filter((s) => s.includes('ENGINE = Distributed'));
    const byTable = Object.fromEntries(
      distributed.map((s) => [/CREATE TABLE IF NOT EXISTS journey\.(\w+) /.exec(s)![1], s.slice(s.indexOf('Distributed'))]),
    );
    expect(Object.keys(byTable).sort()).toEqual(
      [
        'alerts',
        'attribution',
        'attribution_campaign_hourly',
        'attribution_conversions_hourly',
        'attribution_hourly',
        'attribution_runs',
        'churn_ranked',
        'churn_score_history',
        'churn_scores',
        'cohort_retention',
        'conversion_touchpoints_hourly',
        'customer_activity_weekly',
        'customer_id_links',
        'customer_journey',
        'customer_stage',
        'customer_summary',
        'dead_letters',
        'deletions',
        'funnel_events',
        'funnel_minute',
        'sessions',
        'sessions_by_customer',
        'stage_counts',
        'stage_transitions',
        'stage_transitions_by_customer',
        'touchpoints',
        'touchpoints_by_customer',
      ].sort(),
    );
    expect(byTable.touchpoints).toBe("Distributed('main', 'journey', 'touchpoints_local', cityHash64(customer_id))");
    expect(byTable.stage_transitions).toContain('cityHash64(customer_id)');
    expect(byTable.funnel_events).toContain('cityHash64(customer_id)');
    expect(byTable.churn_scores).toContain('cityHash64(customer_id)');
    expect(byTable.touchpoints_by_customer).toContain('cityHash64(customer_id)');
    expect(byTable.stage_transitions_by_customer).toContain('cityHash64(customer_id)');
    expect(byTable.sessions_by_customer).toContain('cityHash64(customer_id)');
    expect(byTable.customer_summary).toContain('cityHash64(customer_id)');
    // A conversion's corrected credit must meet its older versions: sharded by the customer whose journey it is.
    expect(byTable.attribution).toContain('cityHash64(customer_id)');
    expect(byTable.attribution_runs).toContain('cityHash64(run_id)');
    // A re-attributed session version must meet its older versions: sharded by session.
    expect(byTable.sessions).toContain('cityHash64(session_id)');
    for (const s of distributed) expect(s).toMatch(/AS journey\.\w+_local\s/);
  });

  it('feed materialized views from local tables into local tables, and read views through Distributed names', () => {
    const journeyMv = statementFor(/MATERIALIZED VIEW IF NOT EXISTS journey\.customer_journey_mv/);
    expect(journeyMv).toContain('TO journey.customer_journey_local');
    expect(journeyMv).toContain('FROM journey.stage_transitions_local');
    const latest = statementFor(/CREATE VIEW IF NOT EXISTS journey\.customer_journey_latest/);
    expect(latest).toContain('FROM journey.customer_journey AS j');
    // A snapshot counts each shard's own customers; the Distributed table adds the shards up.
    const stageCounts = statementFor(/MATERIALIZED VIEW IF NOT EXISTS journey\.stage_counts_mv/);
    expect(stageCounts).toContain('TO journey.stage_counts_local');
    expect(stageCounts).toContain('FROM journey.customer_stage_local AS c FINAL');
    expect(statementFor(/MATERIALIZED VIEW IF NOT EXISTS journey\.customer_stage_mv/)).toContain('FROM journey.stage_transitions_local AS t');
    const churnRanked = statementFor(/MATERIALIZED VIEW IF NOT EXISTS journey\.churn_ranked_mv/);
    expect(churnRanked).toContain('TO journey.churn_ranked_local');
    expect(churnRanked).toContain('FROM journey.churn_scores_local AS c FINAL');
    expect(churnRanked).toContain('JOIN journey.customer_stage_local AS j FINAL');
    const cohorts = statementFor(/MATERIALIZED VIEW IF NOT EXISTS journey\.cohort_retention_mv/);
    expect(cohorts).toContain('TO journey.cohort_retention_local');
    expect(cohorts).not.toMatch(/customer_activity_weekly(?!_local)/);
    const attribution = statementFor(/MATERIALIZED VIEW IF NOT EXISTS journey\.attribution_hourly_mv/);
    expect(attribution).toContain('TO journey.attribution_hourly_local');
    expect(attribution).toContain('FROM journey.attribution_local FINAL');
    expect(statementFor(/MATERIALIZED VIEW IF NOT EXISTS journey\.conversion_touchpoints_hourly_mv/)).toContain('FROM journey.touchpoints_local AS t');
  });

  it('leave no placeholder unrendered', () => {
    expect(ddl.join('\n')).not.toMatch(/\{(db|local|cluster|on_cluster|ttl_days|cluster_only)\}/);
  });
});
