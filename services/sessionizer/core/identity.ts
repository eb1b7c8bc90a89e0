import type { Touchpoint } from '../../../schemas/touchpoint.js';

/** Two namespaced ids (`u:`, `e:`, `a:`) that belong to the same person. */
export interface IdentityLink {
  readonly a: string;
  readonly b: string;
  /** Apply only when `b` is already in the graph (an alias's previousId read as an earlier userId). */
  readonly onlyIfKnown?: boolean;
}

export type LinkResult = { merged: false } | { merged: true; survivor: string; absorbed: string };

export const userNode = (userId: string): string => `u:${userId}`;
export const anonymousNode = (anonymousId: string): string => `a:${anonymousId}`;
export const emailNode = (emailHash: string): string => `e:${emailHash}`;

/** The id a touchpoint is keyed by, namespaced: the userId when known, else the anonymousId. */
export function primaryNode(tp: Pick<Touchpoint, 'userId' | 'anonymousId'>): string {
  return tp.userId !== null ? userNode(tp.userId) : anonymousNode(tp.anonymousId ?? '');
}

export interface LinkOptions {
  /** Link identify calls that carry an emailHash (the collector only sets it for opted-in traits). Default true. */
  emailLinks?: boolean;
}

/** The identity links a touchpoint asserts. Pure: the graph decides what they merge. */
export function linksFrom(tp: Touchpoint, options: LinkOptions = {}): IdentityLink[] {
  const links: IdentityLink[] = [];
  const primary = primaryNode(tp);
  if (tp.userId !== null && tp.anonymousId !== null) links.push({ a: primary, b: anonymousNode(tp.anonymousId) });
  if (tp.type === 'alias' && tp.previousId) {
    // An alias's previousId is an earlier anonymousId or an earlier userId, and the call does not say
    // which. The anonymous reading is always linked; the user reading only when that user already
    // exists, so no phantom user id enters the graph (it could otherwise become the root).
    const asAnonymous = anonymousNode(tp.previousId);
    const asUser = userNode(tp.previousId);
    if (asAnonymous !== primary) links.push({ a: primary, b: asAnonymous });
    if (asUser !== primary) links.push({ a: primary, b: asUser, onlyIfKnown: true });
  }
  if (tp.type === 'identify' && tp.emailHash && options.emailLinks !== false) {
    links.push({ a: primary, b: emailNode(tp.emailHash) });
  }
  return links;
}

/** u: beats e: beats a:; anything else ranks last. */
function namespaceRank(id: string): number {
  switch (id.charCodeAt(0)) {
    case 117: // u
      return 0;
    case 101: // e
      return 1;
    case 97: // a
      return 2;
    default:
      return 3;
  }
}

/** The changelog value of a root (older changelogs wrote `#<n>`; any value starting with it reads as a root). */
export const ROOT_MARK = '#';

/**
 * Where a union-find keeps its pointers: id → parent id, or ROOT_MARK for a root. The in-memory
 * one below serves the unit tests and SESSIONIZER_IDENTITY_STORE=memory; the lmdb one
 * (identity-store-lmdb.ts) keeps them on disk with bounded memory. Writes happen only inside
 * `IdentityGraph.apply` and `forgetComponent`, which the owner runs where the store may write
 * (the lmdb store: inside one transaction per batch of identity-links).
 */
export interface ParentStore {
  get(id: string): string | undefined;
  set(id: string, parent: string): void;
  delete(id: string): void;
  /**
   * Every id whose path leads to `root` (a root), `root` included: the component a deletion
   * removes. Each store finds it its own way (the memory one by a scan, the lmdb one by its index
   * of children, in proportion to the component).
   */
  component(root: string): string[];
  readonly size: number;
}

export class MemoryParentStore implements ParentStore {
  private readonly parent = new Map<string, string>();
  get size(): number {
    return this.parent.size;
  }
  get(id: string): string | undefined {
    return this.parent.get(id);
  }
  set(id: string, parent: string): void {
    this.parent.set(id, parent);
  }
  delete(id: string): void {
    this.parent.delete(id);
  }
  /**
   * Scans every pointer: a Map has no child pointers to walk (an index of them would cost heap on
   * every id, for deletions, which are rare). A pass takes the ids pointing at a member found so
   * far (most point at the root itself); passes repeat while they find more, as many as the
   * longest path. In proportion to all ids, on the caller's thread (docs/performance.md).
   */
  component(root: string): string[] {
    const members = new Set([root]);
    for (let found = true; found; ) {
      found = false;
      for (const [node, up] of this.parent) {
        if (!members.has(node) && members.has(up)) {
          members.add(node);
          found = true;
        }
      }
    }
    return [...members];
  }
}

/**
 * Union-find over namespaced ids. The root of a component is its least member under (namespace
 * rank, id) (`precedes`): unions keep the lesser root, so the root depends only on which ids are
 * linked, never on the order links were applied, which instance applied them, or when path
 * compression ran.
 *
 * Paths are compressed by `apply` only; `resolve` reads. A store may then be written only where its
 * owner applies links (the lmdb store: in one transaction with the applied offset), and a lookup
 * between batches never writes. Chains stay short: `apply` leaves every id it touched one step from
 * its root, and a chain grows only when a root is absorbed.
 *
 * Memory (in-memory store): one Map entry per id.
 */
export class IdentityGraph {
  constructor(private readonly store: ParentStore = new MemoryParentStore()) {}

  get size(): number {
    return this.store.size;
  }

  /** Whether any link mentioned this id. */
  knows(id: string): boolean {
    return this.store.get(id) !== undefined;
  }

  apply(link: IdentityLink): LinkResult {
    if (link.onlyIfKnown && !this.knows(link.b)) return { merged: false };
    this.register(link.a);
    this.register(link.b);
    const ra = this.find(link.a, true);
    const rb = this.find(link.b, true);
    if (ra === rb) return { merged: false };
    const [survivor, absorbed] = precedes(ra, rb) ? [ra, rb] : [rb, ra];
    this.store.set(absorbed, survivor);
    return { merged: true, survivor, absorbed };
  }

  /** The canonical id of a namespaced id; an id no link mentioned is its own root. */
  resolve(id: string): string {
    return this.find(id, false);
  }

  customerIdFor(tp: Pick<Touchpoint, 'userId' | 'anonymousId'>): string {
    return this.resolve(primaryNode(tp));
  }

  /**
   * The compacted-changelog value of one id: its parent id, or `#` for a root; undefined if no link
   * mentioned it.
   */
  entryOf(id: string): string | undefined {
    return this.store.get(id);
  }

  /**
   * Applies one changelog entry (see entryOf) as the link it records. Since roots depend only on
   * which ids are linked, applying a compacted changelog's entries in any order gives the graph
   * that wrote them.
   */
  applyEntry(id: string, value: string): void {
    this.apply({ a: id, b: isRootMark(value) ? id : value });
  }

  /**
   * Removes the whole component of `id` (a deletion, README: Privacy) and returns its members, the
   * root last; an unknown id removes nothing. The store finds the members (`ParentStore.component`).
   */
  forgetComponent(id: string): string[] {
    if (!this.knows(id)) return [];
    const root = this.find(id, false);
    const members = this.store.component(root);
    for (const node of members) this.store.delete(node);
    return members.filter((m) => m !== root).concat(root);
  }

  private register(id: string): void {
    if (this.store.get(id) === undefined) this.store.set(id, ROOT_MARK);
  }

  /** Root lookup (no recursion); with `compress`, every id on the path then points at the root. */
  private find(id: string, compress: boolean): string {
    let root = id;
    for (let up = this.store.get(root); up !== undefined && !isRootMark(up); up = this.store.get(root)) root = up;
    if (!compress) return root;
    let node = id;
    while (node !== root) {
      const up = this.store.get(node)!;
      if (up !== root) this.store.set(node, root);
      node = up;
    }
    return root;
  }
}

const isRootMark = (value: string): boolean => value.startsWith(ROOT_MARK);

/**
 * The canonical order of ids: namespace rank (u: < e: < a:), then the id itself. It depends on
 * nothing but the two ids, so a component's root is a function of its members alone: instances
 * that apply the same links in different orders (their own links at once, others' when read from
 * the identity-links topic) always agree on every customer id.
 */
export function precedes(x: string, y: string): boolean {
  const rank = namespaceRank(x) - namespaceRank(y);
  if (rank !== 0) return rank < 0;
  return x < y;
}
