import type { QueryRunner } from '../runner.js';

/**
 * Which ids are one person, read back from touchpoints. The sessionizer links ids in a union-find
 * whose root (the customer id) is the least member by namespace rank (u: < e: < a:) then the id
 * (IdentityGraph.precedes). Every touchpoints row carries the customer id it was processed under
 * (the root at that moment) and the raw user_id / anonymous_id it came with, so ids that share a row
 * are linked, and the least customer id seen is the newest root: roots only ever decrease as
 * components grow, whatever order rows arrived in. (The row that asserts a link is itself processed
 * under the root the link produced, so the current root is among the customer ids seen.)
 *
 * Resolution is a bounded closure: start from the requested id, read the (customer_id, user_id,
 * anonymous_id) triples of rows that name any id not yet read (by customer_id: the sort key; by
 * user_id / anonymous_id: bloom-filter skip indexes), add the ids they name, repeat until nothing
 * new (at most MAX_ROUNDS rounds, MAX_LINKED_IDS ids).
 */
export const MAX_ROUNDS = 4;
export const MAX_LINKED_IDS = 100;
/** Distinct triples read per round; a customer with more id combinations than this is cut short. */
const MAX_TRIPLES = 1_000;

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

export interface IdTriple {
  customer_id: string;
  user_id: string | null;
  anonymous_id: string | null;
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

/** The namespaced ids one touchpoints row names. */
export function idsOfTriple(t: IdTriple): string[] {
  const ids = [t.customer_id];
  if (t.user_id !== null) ids.push(`u:${t.user_id}`);
  if (t.anonymous_id !== null) ids.push(`a:${t.anonymous_id}`);
  return ids;
}

/** Splits ids into the columns they can be looked up by: every id as a customer id, `u:`/`a:` also by their raw column. */
export function lookupColumns(ids: readonly string[]): { customers: string[]; users: string[]; anonymous: string[] } {
  return {
    customers: [...ids],
    users: ids.filter((id) => id.startsWith('u:')).map((id) => id.slice(2)),
    anonymous: ids.filter((id) => id.startsWith('a:')).map((id) => id.slice(2)),
  };
}

// Three selects, not one OR: a skip index can only skip a granule when the whole condition is false
// there, so each column's lookup gets its own index (or the sort key for customer_id).
const TRIPLES_SQL = `SELECT customer_id, user_id, anonymous_id FROM (
  SELECT customer_id, user_id, anonymous_id FROM {db}.touchpoints WHERE customer_id IN {customers:Array(String)}
  UNION ALL
  SELECT customer_id, user_id, anonymous_id FROM {db}.touchpoints WHERE user_id IN {users:Array(String)}
  UNION ALL
  SELECT customer_id, user_id, anonymous_id FROM {db}.touchpoints WHERE anonymous_id IN {anonymous:Array(String)}
)
GROUP BY customer_id, user_id, anonymous_id
LIMIT ${MAX_TRIPLES}`;

export async function resolveCustomer(db: QueryRunner, endpoint: string, id: string): Promise<ResolvedCustomer> {
  const known = new Set<string>([id]);
  let frontier = [id];
  const customerIds = new Set<string>();
  let truncated = false;
  for (let round = 0; frontier.length > 0; round++) {
    if (round === MAX_ROUNDS) {
      truncated = true;
      break;
    }
    const triples = await db.rows<IdTriple>(endpoint, TRIPLES_SQL, lookupColumns(frontier));
    for (const t of triples) customerIds.add(t.customer_id);
    if (triples.length >= MAX_TRIPLES) truncated = true;
    frontier = [];
    for (const t of triples) {
      for (const linked of idsOfTriple(t)) {
        if (known.has(linked)) continue;
        if (known.size >= MAX_LINKED_IDS) {
          truncated = true;
          continue;
        }
        known.add(linked);
        frontier.push(linked);
      }
    }
  }
  const linkedIds = [...known].sort(compareIds);
  const customerId = [...customerIds].sort(compareIds)[0] ?? id;
  return { customerId, linkedIds, seenInTouchpoints: customerIds.size > 0, truncated };
}
