import type { ClickHouseClient } from '@clickhouse/client';
import { stageRank, type FunnelEvent, type Stage } from '../../../schemas/journey.js';

type FunnelEventKind = FunnelEvent['kind'];
import type { Touchpoint } from '../../../schemas/touchpoint.js';
import type { StagesCoreConfig } from '../stages/stages-config.js';
import type { StageRules } from '../stages/stage-rules.js';
import { recomputeFunnel, settledEventTime, type BatchFunnel, type WrittenTouchpoint } from './funnel-batch.js';

/** What `verify` compares of a funnel row: whose, where, what, when. */
export interface FunnelRowFacts {
  customerId: string;
  site: string;
  kind: FunnelEventKind;
  stage: Stage;
  at: number;
}

/** Rows of one kind into one stage on one site: the batch recomputation's count and ClickHouse's. */
export interface FunnelCount {
  site: string;
  stage: Stage;
  kind: FunnelEventKind;
  expected: number;
  found: number;
}

export interface CustomerFunnelMismatch {
  customerId: string;
  /** Only the counts that differ. */
  counts: FunnelCount[];
}

export interface FunnelReport {
  /** The time before which every window and lapse must have been settled (see `settledEventTime`). */
  settledUntil: number;
  expectedRows: number;
  foundRows: number;
  /** Found rows that are time-driven rows due at or after `settledUntil`: not judged either way. */
  undecidedRows: number;
  /** Per site, stage and kind (entries, conversions, drop-offs), summed over customers. */
  counts: FunnelCount[];
  /** Customers (as they are now) whose counts of some site, stage and kind differ. */
  mismatches: number;
  /** Of those, customers stitched from several ids (README, Known limits). */
  mismatchesOfMergedCustomers: number;
  examples: CustomerFunnelMismatch[];
}

const KINDS: readonly FunnelEventKind[] = ['entry', 'conversion', 'dropoff'];
const keyOf = (r: { site: string; kind: string; stage: string }) => `${r.site}\u0000${r.kind}\u0000${r.stage}`;
const rowKey = (customerId: string, r: { site: string; kind: string; stage: string; at: number }) => `${customerId}\u0000${keyOf(r)}\u0000${r.at}`;

/** Per customer, per site, kind and stage: how many rows. */
function countByCustomer(rows: Iterable<{ customerId: string; site: string; kind: FunnelEventKind; stage: Stage }>): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const r of rows) {
    const counts = out.get(r.customerId) ?? new Map<string, number>();
    counts.set(keyOf(r), (counts.get(keyOf(r)) ?? 0) + 1);
    out.set(r.customerId, counts);
  }
  return out;
}

const splitKey = (key: string) => {
  const [site, kind, stage] = key.split('\u0000') as [string, FunnelEventKind, Stage];
  return { site, kind, stage };
};
const byStage = (a: FunnelCount, b: FunnelCount) => a.site.localeCompare(b.site) || stageRank(a.stage) - stageRank(b.stage) || KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind);

/**
 * Compares the funnel rows in ClickHouse with the batch recomputation, by counts per customer (as
 * they are now: `resolve`), site, stage and kind. Counts, not times: a touchpoint that arrives a
 * few minutes out of order is applied at the journey clock by design, which moves an entry's time
 * but not what is counted. A found row equal to an undecided one (same customer, site, kind,
 * stage and time) is left out, once per undecided row.
 */
export function compareFunnel(batch: BatchFunnel, found: readonly FunnelRowFacts[], resolve: (customerId: string) => string, settledUntil: number): FunnelReport {
  const undecided = new Map<string, number>();
  for (const r of batch.undecided) undecided.set(rowKey(r.customerId, r), (undecided.get(rowKey(r.customerId, r)) ?? 0) + 1);
  const judged: FunnelRowFacts[] = [];
  let undecidedRows = 0;
  for (const r of found) {
    const customerId = resolve(r.customerId);
    const key = rowKey(customerId, r);
    const left = undecided.get(key) ?? 0;
    if (left > 0) {
      undecided.set(key, left - 1);
      undecidedRows++;
    } else judged.push({ ...r, customerId });
  }
  const expected = countByCustomer(batch.expected);
  const actual = countByCustomer(judged);
  const totals = new Map<string, FunnelCount>();
  const total = (key: string) => totals.get(key) ?? totals.set(key, { ...splitKey(key), expected: 0, found: 0 }).get(key)!;
  const mismatched: CustomerFunnelMismatch[] = [];
  for (const customerId of new Set([...expected.keys(), ...actual.keys()])) {
    const want = expected.get(customerId) ?? new Map<string, number>();
    const got = actual.get(customerId) ?? new Map<string, number>();
    const differing: FunnelCount[] = [];
    for (const key of new Set([...want.keys(), ...got.keys()])) {
      const count = { ...splitKey(key), expected: want.get(key) ?? 0, found: got.get(key) ?? 0 };
      total(key).expected += count.expected;
      total(key).found += count.found;
      if (count.expected !== count.found) differing.push(count);
    }
    if (differing.length > 0) mismatched.push({ customerId, counts: differing.sort(byStage) });
  }
  return {
    settledUntil,
    expectedRows: batch.expected.length,
    foundRows: found.length,
    undecidedRows,
    counts: [...totals.values()].sort(byStage),
    mismatches: mismatched.length,
    mismatchesOfMergedCustomers: mismatched.filter((m) => batch.stitched.has(m.customerId)).length,
    examples: mismatched.slice(0, 10),
  };
}

/** The recomputation's input and the pipeline's funnel, read from ClickHouse (deduplicated with FINAL). */
export interface FunnelSources {
  /** Every touchpoint with the touchpoints partition it came from: the source watermarks. */
  touchpoints: ReadonlyArray<WrittenTouchpoint & { late: boolean; source: number }>;
  funnel: readonly FunnelRowFacts[];
}

/** Recomputes the funnel from the touchpoints and compares it with ClickHouse's (see `compareFunnel`). */
export function checkFunnel(sources: FunnelSources, resolve: (customerId: string) => string, rules: StageRules, config: StagesCoreConfig, graceMs: number): FunnelReport {
  const settledUntil = settledEventTime(sources.touchpoints.map((t) => ({ source: t.source, timestamp: t.touchpoint.timestamp })), graceMs);
  const batch = recomputeFunnel(
    sources.touchpoints.filter((t) => !t.late),
    resolve,
    rules,
    config,
    settledUntil,
  );
  return compareFunnel(batch, sources.funnel, resolve, settledUntil);
}

interface TouchpointRead {
  m: string;
  c: string;
  g: string | null;
  type: string;
  event: string;
  anon: string | null;
  user: string | null;
  src: string;
  site: string;
  channel: string;
  t: string | number;
  r: string | number;
  url: string | null;
  path: string | null;
  campaign: string | null;
  device: string;
  segment: string | null;
  revenue: number | null;
  late: boolean | number;
  props: string;
}

/**
 * Reads both sides from ClickHouse. `sourceOf` names the touchpoints partition a touchpoint was
 * produced to (its identity key under the producer's partitioner): the caller knows the topic.
 */
export async function readFunnelSources(client: ClickHouseClient, database: string, sourceOf: (tp: Touchpoint) => number): Promise<FunnelSources> {
  const read = async <T>(query: string): Promise<T[]> => (await client.query({ query, format: 'JSONEachRow' })).json<T>();
  const rows = await read<TouchpointRead>(
    `SELECT message_id AS m, customer_id AS c, account_id AS g, type, event, anonymous_id AS anon, user_id AS user, source AS src, site, channel,
            toUnixTimestamp64Milli(ts) AS t, toUnixTimestamp64Milli(received_at) AS r, url, path, utm_campaign AS campaign,
            device_type AS device, segment, revenue, late, properties AS props
     FROM ${database}.touchpoints FINAL`,
  );
  const touchpoints = rows.map((row) => {
    const touchpoint = {
      messageId: row.m,
      type: row.type,
      event: row.event,
      anonymousId: row.anon,
      userId: row.user,
      previousId: null,
      groupId: row.g,
      emailHash: null,
      source: row.src,
      site: row.site,
      channel: row.channel,
      timestamp: Number(row.t),
      originalTimestamp: null,
      sentAt: null,
      receivedAt: Number(row.r),
      url: row.url,
      path: row.path,
      referrer: null,
      utmSource: null,
      utmMedium: null,
      utmCampaign: row.campaign,
      deviceType: row.device,
      deviceId: null,
      segment: row.segment,
      revenue: row.revenue,
      properties: row.props,
    } as Touchpoint;
    return { customerId: row.c, touchpoint, late: Boolean(row.late), source: sourceOf(touchpoint) };
  });
  const funnel = await read<{ c: string; site: string; kind: FunnelEventKind; stage: Stage; at: string | number }>(
    `SELECT customer_id AS c, site, toString(kind) AS kind, toString(stage) AS stage, toUnixTimestamp64Milli(at) AS at FROM ${database}.funnel_events FINAL`,
  );
  return { touchpoints, funnel: funnel.map((f) => ({ customerId: f.c, site: f.site, kind: f.kind, stage: f.stage, at: Number(f.at) })) };
}
