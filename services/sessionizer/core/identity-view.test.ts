import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IdentityGraph, type IdentityLink } from './identity.js';
import { IdentityView } from './identity-view.js';

const ids = ['u:1', 'u:2', 'e:h', 'e:g', 'a:p', 'a:q', 'a:r', 'a:s'];
const linkArb = fc.record({ a: fc.constantFrom(...ids), b: fc.constantFrom(...ids) }).filter((l) => l.a !== l.b);

/** What the router writes for a link (identity-router.ts, `decide`): the entries of its ids, and of the absorbed root. */
function applyAndWrite(view: IdentityView, link: IdentityLink): Array<[string, string]> {
  const result = view.apply(link);
  const touched = result.merged ? [link.a, link.b, result.absorbed] : [link.a, link.b];
  return touched.flatMap((id) => (view.entryOf(id) === undefined ? [] : [[id, view.entryOf(id)!] as [string, string]]));
}

describe('IdentityView (the durable graph plus this instance’s links not read back yet)', () => {
  it('resolves its own links at once and keeps them out of the durable graph until the topic brings them', () => {
    const view = new IdentityView(new IdentityGraph());
    const written = applyAndWrite(view, { a: 'u:ann', b: 'a:phone' });
    expect(view.resolve('a:phone')).toBe('u:ann');
    expect(view.durable.knows('a:phone')).toBe(false);
    expect(view.pendingLinks).toBe(1);
    for (const [id, value] of written) view.durable.applyEntry(id, value);
    view.refresh();
    expect(view.pendingLinks).toBe(0);
    expect(view.resolve('a:phone')).toBe('u:ann');
    expect(view.durable.resolve('a:phone')).toBe('u:ann');
  });

  it('merges across the layers: a pending link joining two durable customers keeps the least id, and says who absorbed whom', () => {
    const durable = new IdentityGraph();
    durable.apply({ a: 'u:zed', b: 'a:1' });
    durable.apply({ a: 'u:abe', b: 'a:2' });
    const view = new IdentityView(durable);
    expect(view.apply({ a: 'a:1', b: 'a:2' })).toEqual({ merged: true, survivor: 'u:abe', absorbed: 'u:zed' });
    expect(view.resolve('a:1')).toBe('u:abe');
    expect(view.entryOf('u:zed')).toBe('u:abe');
    expect(view.entryOf('u:abe')).toBe('#');
    // Another instance's link arrives first through the topic: the pending one stays until covered.
    durable.apply({ a: 'u:aaa', b: 'a:2' });
    view.refresh();
    expect(view.resolve('a:1')).toBe('u:aaa');
  });

  it('gives every id the root a single graph of all links gives, however the links are split between the layers (refreshed after each durable batch)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(linkArb, fc.boolean(), fc.boolean()), { maxLength: 30 }), (steps) => {
        const all = new IdentityGraph();
        const view = new IdentityView(new IdentityGraph());
        let batchOpen = false;
        for (const [link, durable, endsBatch] of steps) {
          all.apply(link);
          if (durable) {
            view.durable.apply(link);
            batchOpen = true;
          } else {
            if (batchOpen) view.refresh(); // the table refreshes after each batch, before the router routes again
            batchOpen = false;
            view.apply(link);
          }
          if (endsBatch && batchOpen) {
            view.refresh();
            batchOpen = false;
          }
        }
        view.refresh();
        for (const id of ids) expect(view.resolve(id)).toBe(all.resolve(id));
      }),
    );
  });

  it('writes entries that, read back by any table in any order, give the same customers', () => {
    fc.assert(
      fc.property(fc.array(linkArb, { maxLength: 30 }), fc.integer(), (links, seed) => {
        const view = new IdentityView(new IdentityGraph());
        const topic = links.flatMap((l) => applyAndWrite(view, l));
        const reader = new IdentityGraph();
        const shuffled = [...topic];
        let state = seed >>> 0;
        for (let i = shuffled.length - 1; i > 0; i--) {
          state = (state * 1_103_515_245 + 12_345) >>> 0;
          const j = state % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        for (const [id, value] of shuffled) reader.applyEntry(id, value);
        for (const [id, value] of topic) view.durable.applyEntry(id, value);
        view.refresh();
        expect(view.pendingLinks).toBe(0);
        for (const id of ids) {
          expect(reader.resolve(id)).toBe(view.resolve(id));
          expect(view.durable.resolve(id)).toBe(view.resolve(id));
        }
      }),
    );
  });

  it('forgets the whole customer it sees, pending links included, and nothing of another', () => {
    const durable = new IdentityGraph();
    durable.apply({ a: 'u:alice', b: 'a:laptop' });
    durable.apply({ a: 'u:bob', b: 'a:tablet' });
    const view = new IdentityView(durable);
    view.apply({ a: 'a:phone', b: 'a:laptop' });
    view.apply({ a: 'a:phone', b: 'e:alice' });
    expect(view.forgetComponent('a:laptop').sort()).toEqual(['a:laptop', 'a:phone', 'e:alice', 'u:alice']);
    for (const id of ['u:alice', 'a:laptop', 'a:phone', 'e:alice']) expect(view.knows(id)).toBe(false);
    expect(view.pendingLinks).toBe(0);
    expect(view.resolve('a:tablet')).toBe('u:bob');
  });
});
