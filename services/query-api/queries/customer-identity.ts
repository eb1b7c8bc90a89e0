import type { QueryRunner } from '../runner.js';
import { ONE_CUSTOMER_SETTINGS } from './one-customer.js';

/**
 * Which ids are one person, read back from ClickHouse. The sessionizer links ids in a union-find
 * whose root (the customer id) is the least member by namespace rank (u: < e: < a:) then the id
 * (IdentityGraph.precedes). Every touchpoint carries the customer id it was processed under (the
 * root at that moment) and the raw user_id / anonymous_id it came with, so ids that share a
 * touchpoint are linked, and the least customer id seen is the newest root: roots only ever
 * decrease as components grow, whatever order rows arrived in. (The row that asserts a link is
 * itself processed under the root the link produced, so the current root is among the customer ids
 * seen.)
 *
 * customer_id_links (migration 032) holds those pairs as an undirected adjacency list kept at write
 * time: for a touchpoint of customer c naming ids X, (x, c, customer) and (c, x) for each x. The
 * resolution is a bounded closure over it: each round reads the links of the frontier and of the ids
 * they lead to (two hops, one query, both by the sort key), adds the ids found, and goes on from
 * those not read yet, at most MAX_ROUNDS rounds and MAX_LINKED_IDS ids. Two hops resolve in one
 * round a customer with one device, asked by any id, and one with several asked by its customer id;
 * a third hop in the same query (one round for a multi-device customer asked by a device id) was
 * measured at ~4 ms more per query on the embedded engine at 10 M touchpoints, paid by every lookup
 * to save a round (~8 ms) on some.
 */
export const MAX_ROUNDS = 4;
export const MAX_LINKED_IDS = 100;
/** Links read per round; a customer with more than this is cut short. */
const MAX_LINKS = 1_000;

export interface ResolvedCustomer {
  /** The stitched customer id: the least customer id the linked rows carry (the requested id when none). */
  customerId: string;
  /** Every linked id found, sorted (customer ids, `u:<user_id>`, `a:<anonymous_id>`), including customerId. */
  linkedIds: string[];
  /** Whether any touchpoint names one of the ids. */
  seenInTouchpoints: boolean;
  /** True when a bound stopped the closure: some linked ids may be missing. */
  truncated: boolean;
}

/** One row of customer_id_links: `linked` shared a touchpoint with `id`, and was that touchpoint's customer id if `linked_is_customer`. */
export interface IdLink {
  id: string;
  linked: string;
  linked_is_customer: boolean | number;
}

function namespaceRank(id: string): number {
  if (id.startsWith('u:')) return 0;
  if (id.startsWith('e:')) return 1;
  if (id.startsWith('a:')) return 2;
  return 3;
}

/** The order in which the identity graph picks roots: namespace rank, then the id (code units). */
export function compareIds(x: string, y: string): number {
  const rank = namespaceRank(x) - namespaceRank(y);
  if (rank !== 0) return rank;
  return x < y ? -1 : x > y ? 1 : 0;
}

// The links of the frontier's ids and of the ids they link to: two hops by the sort key (`id`) in one
// round trip. DISTINCT: rows of unmerged parts may repeat. GLOBAL IN: on a cluster a component's
// links may sit on several shards (each touchpoint's links are on its customer's shard at the time),
// so the second hop must start from every shard's first.
const LINKS_SQL = `SELECT DISTINCT id, linked, linked_is_customer FROM {db}.customer_id_links
WHERE id IN {ids:Array(String)}
   OR id GLOBAL IN (SELECT linked FROM {db}.customer_id_links WHERE id IN {ids:Array(String)} LIMIT ${MAX_LINKS})
LIMIT ${MAX_LINKS}
${ONE_CUSTOMER_SETTINGS}`;

export async function resolveCustomer(db: QueryRunner, endpoint: string, id: string): Promise<ResolvedCustomer> {
  const known = new Set<string>([id]);
  /** Ids whose links have been read (as the frontier or as the second hop). */
  const read = new Set<string>();
  const customerIds = new Set<string>();
  let frontier = [id];
  let truncated = false;
  for (let round = 0; frontier.length > 0; round++) {
    if (round === MAX_ROUNDS) {
      truncated = true;
      break;
    }
    const links = await db.rows<IdLink>(endpoint, LINKS_SQL, { ids: frontier });
    if (links.length >= MAX_LINKS) truncated = true;
    const asked = new Set(frontier);
    for (const f of frontier) read.add(f);
    for (const link of links) {
      read.add(link.id);
      // The frontier's own links say which ids the second hop read.
      if (asked.has(link.id)) read.add(link.linked);
      if (link.linked_is_customer) customerIds.add(link.linked);
      if (known.has(link.linked)) continue;
      if (known.size >= MAX_LINKED_IDS) {
        truncated = true;
        continue;
      }
      known.add(link.linked);
    }
    frontier = [...known].filter((k) => !read.has(k));
  }
  const linkedIds = [...known].sort(compareIds);
  const customerId = [...customerIds].sort(compareIds)[0] ?? id;
  return { customerId, linkedIds, seenInTouchpoints: customerIds.size > 0, truncated };
}
