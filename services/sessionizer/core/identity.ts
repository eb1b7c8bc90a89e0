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
const ROOT_MARK = '#';

/**
 * Union-find over namespaced ids. The root of a component is its least member under (namespace
 * rank, id) (`precedes`): unions keep the lesser root, so the root depends only on which ids are
 * linked, never on the order links were applied, which instance applied them, or when path
 * compression ran.
 *
 * Memory: one Map entry per non-root (id → parent) and one Set entry per root.
 */
export class IdentityGraph {
  private readonly parent = new Map<string, string>();
  private readonly roots = new Set<string>();

  get size(): number {
    return this.parent.size + this.roots.size;
  }

  /** Whether any link mentioned this id. */
  knows(id: string): boolean {
    return this.parent.has(id) || this.roots.has(id);
  }

  apply(link: IdentityLink): LinkResult {
    if (link.onlyIfKnown && !this.knows(link.b)) return { merged: false };
    this.register(link.a);
    this.register(link.b);
    const ra = this.find(link.a);
    const rb = this.find(link.b);
    if (ra === rb) return { merged: false };
    const [survivor, absorbed] = this.precedes(ra, rb) ? [ra, rb] : [rb, ra];
    this.parent.set(absorbed, survivor);
    this.roots.delete(absorbed);
    return { merged: true, survivor, absorbed };
  }

  /** The canonical id of a namespaced id; an id no link mentioned is its own root. */
  resolve(id: string): string {
    return this.find(id);
  }

  customerIdFor(tp: Pick<Touchpoint, 'userId' | 'anonymousId'>): string {
    return this.find(primaryNode(tp));
  }

  /**
   * The compacted-changelog value of one id: its parent id, or `#` for a root; undefined if no link
   * mentioned it.
   */
  entryOf(id: string): string | undefined {
    const up = this.parent.get(id);
    if (up !== undefined) return up;
    return this.roots.has(id) ? ROOT_MARK : undefined;
  }

  /**
   * Applies one changelog entry (see entryOf) as the link it records. Since roots depend only on
   * which ids are linked, applying a compacted changelog's entries in any order gives the graph
   * that wrote them.
   */
  applyEntry(id: string, value: string): void {
    this.apply({ a: id, b: value.startsWith(ROOT_MARK) ? id : value });
  }

  /**
   * Removes the whole component of `id` (a deletion, README: Privacy) and returns its members; an
   * unknown id removes nothing. A scan of every id: deletions are rare, and a union-find has no
   * child pointers to walk instead.
   */
  forgetComponent(id: string): string[] {
    if (!this.knows(id)) return [];
    const root = this.find(id);
    const members: string[] = [];
    for (const node of this.parent.keys()) if (this.find(node) === root) members.push(node);
    for (const node of members) this.parent.delete(node);
    this.roots.delete(root);
    members.push(root);
    return members;
  }

  private register(id: string): void {
    if (!this.parent.has(id)) this.roots.add(id);
  }

  /** Root lookup with full path compression (two passes, no recursion). */
  private find(id: string): string {
    let root = id;
    for (let up = this.parent.get(root); up !== undefined; up = this.parent.get(root)) root = up;
    let node = id;
    while (node !== root) {
      const up = this.parent.get(node)!;
      this.parent.set(node, root);
      node = up;
    }
    return root;
  }

  /**
   * The canonical order of ids: namespace rank (u: < e: < a:), then the id itself. It depends on
   * nothing but the two ids, so a component's root is a function of its members alone: instances
   * that apply the same links in different orders (their own links at once, others' when read from
   * the identity-links topic) always agree on every customer id.
   */
  private precedes(x: string, y: string): boolean {
    const rank = namespaceRank(x) - namespaceRank(y);
    if (rank !== 0) return rank < 0;
    return x < y;
  }

}
