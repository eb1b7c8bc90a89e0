import { describe, expect, it } from 'vitest';
import type { QueryRunner } from '../runner.js';
import { MAX_LINKED_IDS, MAX_ROUNDS, compareIds, resolveCustomer, type IdLink } from './customer-identity.js';

/** A touchpoint's ids as touchpoints rows hold them. */
interface IdTriple {
  customer_id: string;
  user_id: string | null;
  anonymous_id: string | null;
}

/** customer_id_links' rows for some touchpoints, as migration 032's view writes them. */
function linksOf(rows: IdTriple[]): IdLink[] {
  const links = new Map<string, IdLink>();
  const add = (id: string, linked: string, isCustomer: boolean) => links.set(JSON.stringify([id, linked, isCustomer]), { id, linked, linked_is_customer: isCustomer });
  for (const r of rows) {
    const ids = [r.customer_id, ...(r.user_id === null ? [] : [`u:${r.user_id}`]), ...(r.anonymous_id === null ? [] : [`a:${r.anonymous_id}`])];
    for (const x of ids) {
      add(x, r.customer_id, true);
      add(r.customer_id, x, x === r.customer_id);
    }
  }
  return [...links.values()];
}

/** Answers the resolution query (LINKS_SQL) from in-memory touchpoints, as ClickHouse would: the links of the ids and of the ids they link to. */
function store(rows: IdTriple[]): { db: QueryRunner; rounds: () => number } {
  const links = linksOf(rows);
  let rounds = 0;
  const db: QueryRunner = {
    async rows<T>(_endpoint: string, _sql: string, params: Record<string, unknown>): Promise<T[]> {
      rounds++;
      const ids = new Set(params.ids as string[]);
      const secondHop = new Set(links.filter((l) => ids.has(l.id)).map((l) => l.linked));
      return links.filter((l) => ids.has(l.id) || secondHop.has(l.id)) as T[];
    },
  };
  return { db, rounds: () => rounds };
}

describe('customer id order', () => {
  it('ranks u: before e: before a: before anything else, then by the id', () => {
    expect(['a:1', 'x', 'e:9', 'u:b', 'u:a', 'a:0'].sort(compareIds)).toEqual(['u:a', 'u:b', 'e:9', 'a:0', 'a:1', 'x']);
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
      const { db, rounds } = store(chain);
      const resolved = await resolveCustomer(db, 'test', id);
      expect(resolved, id).toEqual({ customerId: 'u:al', linkedIds: ['u:al', 'u:bo', 'a:d1', 'a:d2'], seenInTouchpoints: true, truncated: false });
      // Each round takes two hops and reads no id twice: three hops from a:d1 to a:d2 are two rounds.
      expect(rounds(), id).toBeLessThanOrEqual(2);
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
