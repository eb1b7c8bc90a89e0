import { describe, expect, it } from 'vitest';
import { hasRetention, parseRetention, retentionStatement } from './retention.js';

describe('retention settings', () => {
  it('parses table=days lists and refuses unknown tables, bad parts and days past DateTime', () => {
    expect([...parseRetention(' touchpoints=90, sessions = 30,funnel_minute=0 ')]).toEqual([
      ['touchpoints', 90],
      ['sessions', 30],
      ['funnel_minute', 0],
      // The per-customer copies follow their sources (migration 032).
      ['touchpoints_by_customer', 90],
      ['customer_id_links', 90],
      ['sessions_by_customer', 30],
    ]);
    expect(parseRetention('stage_transitions=400,touchpoints_by_customer=30,touchpoints=90')).toEqual(
      new Map([
        ['stage_transitions', 400],
        ['touchpoints_by_customer', 30],
        ['touchpoints', 90],
        ['customer_id_links', 90],
        ['stage_transitions_by_customer', 400],
      ]),
    );
    expect(parseRetention('').size).toBe(0);
    expect(() => parseRetention('users=3')).toThrow(/"users" has no retention setting/);
    expect(() => parseRetention('touchpoints')).toThrow(/not table=days/);
    expect(() => parseRetention('touchpoints=-1')).toThrow(/not table=days/);
    expect(() => parseRetention('touchpoints=30000')).toThrow(/over 25000/);
  });

  it('renders MODIFY TTL on the storage table (the _local one on a cluster) and REMOVE TTL for 0', () => {
    expect(retentionStatement('sessions', 30, { database: 'j', touchpointTtlDays: 1 })).toBe('ALTER TABLE j.sessions MODIFY TTL toDateTime(ended_at) + toIntervalDay(30)');
    expect(retentionStatement('touchpoints', 0, { database: 'j', cluster: 'c', touchpointTtlDays: 1 })).toBe("ALTER TABLE j.touchpoints_local ON CLUSTER 'c' REMOVE TTL");
  });

  it('tells a table that already has the retention from one that needs the change', () => {
    const engine = "ReplacingMergeTree PARTITION BY toYYYYMM(ts) ORDER BY (site, customer_id, ts, message_id) TTL toDateTime(ts) + toIntervalDay(395) SETTINGS index_granularity = 8192";
    expect(hasRetention(engine, 'touchpoints', 395)).toBe(true);
    expect(hasRetention(engine, 'touchpoints', 90)).toBe(false);
    expect(hasRetention(engine, 'touchpoints', 0)).toBe(false);
    expect(hasRetention('ReplacingMergeTree ORDER BY session_id SETTINGS index_granularity = 8192', 'sessions', 0)).toBe(true);
  });
});
