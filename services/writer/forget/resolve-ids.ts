import type { Kafka } from 'kafkajs';
import type { ClickHouse } from '../../platform/clickhouse/client.js';
import { readPartitionRange } from '../../platform/kafka/read-range.js';
import { componentOf, foldLinkEntries, linkAdjacency, MAX_LINKED_IDS } from '../../platform/privacy/linked-ids.js';
import { idColumns } from './erase-rows.js';

/** The identity graph's links as they stand: identity-links (one partition) read from start to end. */
export async function readLinkAdjacency(kafka: Kafka, topic: string): Promise<Map<string, string[]>> {
  const admin = kafka.admin();
  await admin.connect();
  const [p0] = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const records: Array<{ key: string; value: string | null }> = [];
  await readPartitionRange(kafka, { topic, partition: 0, from: BigInt(p0?.low ?? '0'), to: BigInt(p0?.high ?? '0') }, (m) => {
    if (m.key) records.push({ key: m.key.toString('utf8'), value: m.value ? m.value.toString('utf8') : null });
  });
  return linkAdjacency(foldLinkEntries(records));
}

/**
 * Ids stored on one touchpoints row together (its customer id, `u:` + user_id, `a:` + anonymous_id)
 * with any of `ids`: an anonymous device that never logged in has no link in the graph, and a
 * customer's rows are stored under the ids it had when they were written.
 */
async function touchpointNeighbours(ch: ClickHouse, ids: readonly string[]): Promise<string[]> {
  const { customerIds, userIds, anonymousIds } = idColumns(ids);
  const rs = await ch.client.query({
    query: `SELECT DISTINCT customer_id, user_id, anonymous_id FROM ${ch.database}.touchpoints
            WHERE customer_id IN {ids:Array(String)} OR user_id IN {users:Array(String)} OR anonymous_id IN {anonymous:Array(String)}
            LIMIT ${MAX_LINKED_IDS}`,
    query_params: { ids: customerIds, users: userIds, anonymous: anonymousIds },
    format: 'JSONEachRow',
  });
  const out: string[] = [];
  for (const r of await rs.json<{ customer_id: string; user_id: string | null; anonymous_id: string | null }>()) {
    out.push(r.customer_id);
    if (r.user_id !== null) out.push(`u:${r.user_id}`);
    if (r.anonymous_id !== null) out.push(`a:${r.anonymous_id}`);
  }
  return out;
}

/** Whether any table still names the id as a customer (a customer id seen only in sessions, say). */
async function storedAnywhere(ch: ClickHouse, id: string): Promise<boolean> {
  const rs = await ch.client.query({
    query: `SELECT (SELECT count() FROM ${ch.database}.sessions WHERE customer_id = {id:String})
                 + (SELECT count() FROM ${ch.database}.stage_transitions WHERE customer_id = {id:String})
                 + (SELECT count() FROM ${ch.database}.churn_scores WHERE customer_id = {id:String}) AS n`,
    query_params: { id },
    format: 'JSONEachRow',
  });
  return Number((await rs.json<{ n: number | string }>())[0]?.n ?? 0) > 0;
}

/**
 * Every id linked to `start`: its component in the identity graph and, alternately, the ids that
 * share touchpoints rows with what was found, until nothing new turns up (at most MAX_LINKED_IDS).
 * Empty when no link and no row mentions it: the deletion is a no-op (`not_found`).
 */
export async function resolveLinkedIds(deps: { ch: ClickHouse; adjacency: ReadonlyMap<string, readonly string[]> }, start: string): Promise<string[]> {
  const found = new Set<string>();
  let frontier = [start];
  while (frontier.length > 0 && found.size < MAX_LINKED_IDS) {
    for (const id of frontier) for (const linked of componentOf(deps.adjacency, id)) found.add(linked);
    frontier = (await touchpointNeighbours(deps.ch, [...found])).filter((id) => !found.has(id));
  }
  const inGraph = deps.adjacency.has(start);
  if (found.size === 1 && !inGraph && frontier.length === 0) {
    // Only the start itself: known if a row names it, else nothing to delete.
    const rows = await touchpointNeighbours(deps.ch, [start]);
    if (rows.length === 0 && !(await storedAnywhere(deps.ch, start))) return [];
  }
  return [...found];
}
