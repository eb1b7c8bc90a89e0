import type { JourneyRecord } from '../../schemas/journey.js';
import { topicCodecs, type Topics } from '../../schemas/topics.js';
import { TABLE_FOR_TOPIC, touchpointRow } from '../platform/clickhouse/rows.js';
import type { TopicRoute } from './writer-handler.js';

/** The writer's topic → table routes: every Avro topic that has a ClickHouse table. */
export function journeyRoutes(topics: Topics, database: string): TopicRoute[] {
  return (Object.keys(TABLE_FOR_TOPIC) as Array<keyof typeof TABLE_FOR_TOPIC>).map((key) => {
    const codec = topicCodecs[key]();
    const mapping = TABLE_FOR_TOPIC[key] as { table: string; toRow: (v: unknown) => Record<string, unknown> };
    return {
      topic: topics[key],
      table: `${database}.${mapping.table}`,
      decode: (bytes: Buffer) => codec.decode(bytes),
      toRow: key === 'customerTouchpoints' ? customerTouchpointRow : (value: unknown) => mapping.toRow(value),
      ...(key === 'sessions' ? { versioned: SESSION_VERSIONS } : {}),
    };
  });
}

/**
 * Sessions are ReplacingMergeTree(version), sorted by (session_id, session_uid), and copied into
 * sessions_by_customer sorted by (customer_id, session_id, session_uid): keyed by all three, a
 * block's newest versions are what both tables keep of it. About 40% of a block's session rows are
 * older versions of a session in the same block (e2e bench input, 200 ms–2 s blocks).
 */
const SESSION_VERSIONS = {
  key: (row: Record<string, unknown>) => `${String(row.customer_id)}\u0000${String(row.session_id)}\u0000${String(row.session_uid)}`,
  version: (row: Record<string, unknown>) => Number(row.version),
};

/**
 * Every route but the touchpoints' waits `derivedMs` (at least `touchpointsMs`) for its block:
 * fewer, larger inserts into the tables nothing reads faster than every 2 s (service.ts says why).
 */
export function withBlockAges(routes: TopicRoute[], touchpointsTopic: string, ages: { touchpointsMs: number; derivedMs: number }): TopicRoute[] {
  const derivedMs = Math.max(ages.touchpointsMs, ages.derivedMs);
  return routes.map((r) => ({ ...r, maxAgeMs: r.topic === touchpointsTopic ? ages.touchpointsMs : derivedMs }));
}

/** customer-touchpoints carries an envelope: only touchpoints are rows; merges and transfers are control. */
function customerTouchpointRow(value: unknown): Record<string, unknown> | null {
  const record = value as JourneyRecord;
  return record.kind === 'touchpoint' ? (touchpointRow(record.touchpoint) as unknown as Record<string, unknown>) : null;
}
