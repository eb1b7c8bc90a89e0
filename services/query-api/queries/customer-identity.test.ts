import { describe, expect, it } from 'vitest';
import type { QueryRunner } from '../runner.js';
import { MAX_LINKED_IDS, MAX_ROUNDS, compareIds, idsOfTriple, lookupColumns, resolveCustomer, type IdTriple } from './customer-identity.js';

/** Answers the resolution query from in-memory touchpoint triples, as ClickHouse would (distinct matches). */
function store(rows: IdTriple[]): { db: QueryRunner; rounds: () => number } {
  let rounds = 0;
  const db: QueryRunner = {
    async rows<T>(_endpoint: string, _sql: string, params: Record<string, unknown>): Promise<T[]> {
      rounds++;
      const { customers, users, anonymous } = params as { customers: string[]; users: string[]; anonymous: string[] };
      const hits = rows.filter(
        (r) => customers.includes(r.customer_id) || (r.user_id !== null && users.includes(r.user_id)) || (r.anonymous_id !== null && anonymous.includes(r.anonymous_id)),
      );
      return [...new Map(hits.map((r) => [JSON.stringify(r), r])).values()] as T[];
    },
  };
  return { db, rounds: () => rounds };
}

describe('customer id order', () => {
  it('ranks u: before e: before a: before anything else, then by the id', () => {
    expect(['a:1', 'x', 'e:9', 'u:b', 'u:a', 'a:0'].sort(compareIds)).toEqual(['u:a', 'u:b', 'e:9', 'a:0', 'a:1', 'x']);
  });

  it('names a row by its customer id and its raw ids, namespaced', () => {
    expect(idsOfTriple({ customer_id: 'u:al', user_id: 'al', anonymous_id: 'd1' })).toEqual(['u:al', 'u:al', 'a:d1']);
    expect(lookupColumns(['u:al', 'a:d1', 'e:h', 'raw'])).toEqual({ customers: ['u:al', 'a:d1', 'e:h', 'raw'], users: ['al'], anonymous: ['d1'] });
  });
});

describe('resolveCustomer', () => {
  // a:d1 browsed, then logged in as bo (rows under u:bo), then bo was aliased to al (rows under u:al).
  const chain: IdTriple[] = [
    { customer_id: 'a:d1', user_id: null, anonymous_id: 'd1' },
    { customer_id: 'u:bo', user_id: 'bo', anonymous_id: 'd1' },
    { customer_id: 'u:al', user_id: 'bo', anonymous_id: null },
    { customer_id: 'u:al', user_id: 'al', anonymous_id: 'd2' },
    { customer_id: 'u:zed', user_id: 'zed', anonymous_id: 'd9' },
  ];

  it('follows links over several hops to the least customer id, from any linked id', async () => {
    for (const id of ['a:d1', 'u:bo', 'u:al', 'a:d2']) {
      const resolved = await resolveCustomer(store(chain).db, 'test', id);
      expect(resolved, id).toEqual({ customerId: 'u:al', linkedIds: ['u:al', 'u:bo', 'a:d1', 'a:d2'], seenInTouchpoints: true, truncated: false });
    }
  });

  it('returns the requested id alone when no touchpoint names it', async () => {
    const { db, rounds } = store(chain);
    expect(await resolveCustomer(db, 'test', 'u:nobody')).toEqual({ customerId: 'u:nobody', linkedIds: ['u:nobody'], seenInTouchpoints: false, truncated: false });
    expect(rounds()).toBe(1);
  });

  it('stops at the bounds and says so', async () => {
    // One anonymous device shared by more users than the bound.
    const kiosk: IdTriple[] = Array.from({ length: MAX_LINKED_IDS + 5 }, (_, i) => ({ customer_id: 'u:a0', user_id: `a${i}`, anonymous_id: 'kiosk' }));
    const resolved = await resolveCustomer(store(kiosk).db, 'test', 'a:kiosk');
    expect(resolved.truncated).toBe(true);
    expect(resolved.linkedIds).toHaveLength(MAX_LINKED_IDS);
    expect(resolved.customerId).toBe('u:a0');
    // A chain longer than the rounds allowed: user x_i and x_i+1 share device d_i, one hop per round.
    const long: IdTriple[] = Array.from({ length: 10 }, (_, i) => [
      { customer_id: `u:x${i}`, user_id: `x${i}`, anonymous_id: `d${i}` },
      { customer_id: `u:x${i + 1}`, user_id: `x${i + 1}`, anonymous_id: `d${i}` },
    ]).flat();
    const { db, rounds } = store(long);
    const cut = await resolveCustomer(db, 'test', 'u:x0');
    expect(rounds()).toBe(MAX_ROUNDS);
    expect(cut).toMatchObject({ truncated: true, customerId: 'u:x0' });
  });
});
