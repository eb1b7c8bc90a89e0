import type { Touchpoint } from '../../../schemas/touchpoint.js';
import { IdentityGraph, primaryNode, ROOT_MARK, type IdentityLink, type LinkResult } from './identity.js';

/**
 * What the router resolves against: the durable graph (the identity-links topic up to the offset
 * the table has read, which is all a store may persist) plus this instance's own links that the
 * table has not read back from the topic yet.
 *
 * The two are kept apart so that a store never holds a link without the topic holding it: a link
 * whose round never reached the topic (a kill -9 between the outputs and the links) must be
 * missing after a restart, so that the replayed touchpoints merge again and send their merge
 * notices (ARCHITECTURE, step 4).
 *
 * The overlay is a small in-memory union-find over the durable roots of the pending links. Its
 * roots are the least of the durable roots it joins, each the least of its own component, so a
 * customer id is still the least member of the whole component: it depends on which ids are
 * linked, never on the order or the layer. A pending link leaves once the durable graph joins its
 * ids (`refresh`, after each batch the table applies); the overlay is then rebuilt from the rest.
 * Memory: the links in flight between a round's send and the table reading it back.
 */
export class IdentityView {
  private pending: IdentityLink[] = [];
  private overlay = new IdentityGraph();

  constructor(readonly durable: IdentityGraph) {}

  /** Ids in the durable graph. */
  get size(): number {
    return this.durable.size;
  }

  /** Links of this instance not in the durable graph yet. */
  get pendingLinks(): number {
    return this.pending.length;
  }

  knows(id: string): boolean {
    return this.durable.knows(id) || this.overlay.knows(id);
  }

  resolve(id: string): string {
    return this.overlay.resolve(this.durable.resolve(id));
  }

  customerIdFor(tp: Pick<Touchpoint, 'userId' | 'anonymousId'>): string {
    return this.resolve(primaryNode(tp));
  }

  /** Applies a link of this instance at once, in the overlay; the durable graph gets it from the topic. */
  apply(link: IdentityLink): LinkResult {
    if (link.onlyIfKnown && !this.knows(link.b)) return { merged: false };
    const adds = !this.knows(link.a) || !this.knows(link.b);
    const result = this.overlay.apply({ a: this.durable.resolve(link.a), b: this.durable.resolve(link.b) });
    if (result.merged || adds) this.pending.push(link);
    return result;
  }

  /**
   * The identity-links value this instance writes for an id: its customer id, or `#` when it is
   * one; undefined if no link mentioned it. Applied by any table (IdentityGraph.applyEntry), the
   * entries of a link's ids join them.
   */
  entryOf(id: string): string | undefined {
    if (!this.knows(id)) return undefined;
    const root = this.resolve(id);
    return root === id ? ROOT_MARK : root;
  }

  /**
   * After the durable graph changed: drops the pending links it now holds and rebuilds the overlay.
   * Until then the overlay may name durable roots that are roots no more: the owner calls this
   * after every batch it applies to the durable graph, before anything resolves again.
   */
  refresh(): void {
    if (this.pending.length === 0 && this.overlay.size === 0) return;
    const kept: IdentityLink[] = [];
    this.overlay = new IdentityGraph();
    for (const link of this.pending) {
      const ra = this.durable.resolve(link.a);
      const rb = this.durable.resolve(link.b);
      if (ra === rb && this.durable.knows(link.a) && this.durable.knows(link.b)) continue;
      kept.push(link);
      this.overlay.apply({ a: ra, b: rb });
    }
    this.pending = kept;
  }

  /**
   * A deletion (README: Privacy): removes the whole component of `id` as this instance sees it,
   * from both layers, and returns its members. Runs where the durable store may write.
   */
  forgetComponent(id: string): string[] {
    this.refresh(); // read in the middle of a batch: the durable graph may have changed since the last refresh
    if (!this.knows(id)) return [];
    const root = this.resolve(id);
    // The durable components the overlay joined into this one (each durable root once).
    const durableRoots = new Set([this.durable.resolve(id)]);
    for (const link of this.pending) {
      for (const end of [link.a, link.b]) {
        const r = this.durable.resolve(end);
        if (this.overlay.resolve(r) === root) durableRoots.add(r);
      }
    }
    const members = new Set<string>();
    for (const r of durableRoots) for (const m of this.durable.knows(r) ? this.durable.forgetComponent(r) : [r]) members.add(m);
    this.pending = this.pending.filter((link) => !members.has(link.a) && !members.has(link.b));
    this.refresh();
    return [...members];
  }
}
