import { describe, expect, it } from 'vitest';
import { WriterEnv } from './config.js';

describe('writer config: CLICKHOUSE_TTL_DAYS', () => {
  it('is parsed once into a table → days map, and a bad entry stops the start with its reason', () => {
    expect([...WriterEnv.parse({ CLICKHOUSE_TTL_DAYS: 'touchpoints=90,sessions=90' }).CLICKHOUSE_TTL_DAYS]).toEqual([
      ['touchpoints', 90],
      ['sessions', 90],
      // The per-customer copies follow their sources (retention.ts).
      ['touchpoints_by_customer', 90],
      ['customer_id_links', 90],
      ['sessions_by_customer', 90],
    ]);
    expect(WriterEnv.parse({}).CLICKHOUSE_TTL_DAYS.size).toBe(0);
    const bad = WriterEnv.safeParse({ CLICKHOUSE_TTL_DAYS: 'visitors=3' });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.message).toMatch(/"visitors" has no retention setting/);
  });
});
