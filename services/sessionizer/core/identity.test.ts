import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IdentityGraph, linksFrom, type IdentityLink } from './identity.js';
import { touchpoint } from './test-touchpoint.js';

const link = (a: string, b: string): IdentityLink => ({ a, b });

describe('linksFrom', () => {
  it('links the userId and anonymousId a touchpoint carries together', () => {
    expect(linksFrom(touchpoint({ type: 'track', userId: 'U1', anonymousId: 'A1' }))).toEqual([link('u:U1', 'a:A1')]);
  });

  it('asserts no link for a touchpoint with a single id', () => {
    expect(linksFrom(touchpoint({ anonymousId: 'A1' }))).toEqual([]);
    expect(linksFrom(touchpoint({ anonymousId: null, userId: 'U1' }))).toEqual([]);
  });

  it('links an alias previousId as an anonymous id, and as a user id only if that user exists', () => {
    const tp = touchpoint({ type: 'alias', userId: 'U2', anonymousId: null, previousId: 'OLD' });
    expect(linksFrom(tp)).toEqual([link('u:U2', 'a:OLD'), { ...link('u:U2', 'u:OLD'), onlyIfKnown: true }]);
  });

  it('links an identify call emailHash, unless email links are switched off', () => {
    const tp = touchpoint({ type: 'identify', userId: 'U1', anonymousId: null, emailHash: 'H' });
    expect(linksFrom(tp)).toEqual([link('u:U1', 'e:H')]);
    expect(linksFrom(tp, { emailLinks: false })).toEqual([]);
  });

  it('ignores an emailHash on calls other than identify', () => {
    expect(linksFrom(touchpoint({ type: 'track', emailHash: 'H' }))).toEqual([]);
  });
});

describe('IdentityGraph', () => {
  it('resolves an id no link mentioned to itself', () => {
    expect(new IdentityGraph().resolve('a:nobody')).toBe('a:nobody');
  });

  it('is transitive: two devices linked to one user resolve to the user', () => {
    const g = new IdentityGraph();
    g.apply(link('u:U', 'a:phone'));
    g.apply(link('a:laptop', 'u:U'));
    expect(g.resolve('a:phone')).toBe('u:U');
    expect(g.resolve('a:laptop')).toBe('u:U');
  });

  it('prefers a user id over an email over an anonymous id as the root', () => {
    const g = new IdentityGraph();
    expect(g.apply(link('a:A', 'e:H'))).toEqual({ merged: true, survivor: 'e:H', absorbed: 'a:A' });
    expect(g.apply(link('e:H', 'u:U'))).toEqual({ merged: true, survivor: 'u:U', absorbed: 'e:H' });
    expect(g.resolve('a:A')).toBe('u:U');
  });

  it('keeps the least user id as root when two user ids merge, whichever was seen first', () => {
    const g = new IdentityGraph();
    g.apply(link('u:zed', 'a:1'));
    g.apply(link('u:abe', 'a:2'));
    expect(g.apply(link('a:1', 'a:2'))).toEqual({ merged: true, survivor: 'u:abe', absorbed: 'u:zed' });
  });

  it('breaks ties between ids of one namespace lexicographically', () => {
    const g = new IdentityGraph();
    expect(g.apply(link('u:b', 'u:a'))).toEqual({ merged: true, survivor: 'u:a', absorbed: 'u:b' });
  });

  it('agrees on every root whatever order two instances apply the same links in', () => {
    fc.assert(
      fc.property(linksArb, fc.integer(), (links, seed) => {
        const shuffled = [...links].sort((x, y) => (((x.a + x.b).length * 31 + seed) % 7) - (((y.a + y.b).length * 31 + seed) % 7));
        const first = new IdentityGraph();
        const second = new IdentityGraph();
        for (const l of links) first.apply(l);
        for (const l of shuffled.reverse()) second.apply(l);
        for (const l of links) for (const id of [l.a, l.b]) expect(second.resolve(id)).toBe(first.resolve(id));
      }),
    );
  });

  it('reports no merge for a link inside one component', () => {
    const g = new IdentityGraph();
    g.apply(link('u:U', 'a:A'));
    expect(g.apply(link('a:A', 'u:U'))).toEqual({ merged: false });
  });

  it('gives a customer id from the userId when present, else the anonymousId', () => {
    const g = new IdentityGraph();
    g.apply(link('u:U', 'a:A'));
    expect(g.customerIdFor({ userId: null, anonymousId: 'A' })).toBe('u:U');
    expect(g.customerIdFor({ userId: 'V', anonymousId: 'A' })).toBe('u:V');
  });

  it('stitches an alias: the anonymous history and the new user id become one customer', () => {
    const g = new IdentityGraph();
    for (const l of linksFrom(touchpoint({ type: 'alias', userId: 'U', anonymousId: null, previousId: 'A' }))) g.apply(l);
    expect(g.resolve('a:A')).toBe('u:U');
    expect(g.knows('u:A')).toBe(false); // no phantom user
  });

  it('stitches an alias of an earlier user id to the new one', () => {
    const g = new IdentityGraph();
    g.apply(link('u:old', 'a:device'));
    for (const l of linksFrom(touchpoint({ type: 'alias', userId: 'new', anonymousId: null, previousId: 'old' }))) g.apply(l);
    expect(g.resolve('u:new')).toBe(g.resolve('a:device'));
  });

  it('stitches two users through a shared email hash', () => {
    const g = new IdentityGraph();
    g.apply(link('u:U1', 'e:H'));
    g.apply(link('u:U2', 'e:H'));
    expect(g.resolve('u:U2')).toBe('u:U1');
  });

  it('applying its changelog entries, in any order, gives a graph that resolves and merges identically', () => {
    const g = new IdentityGraph();
    for (const l of [link('a:1', 'a:2'), link('u:z', 'a:3'), link('u:y', 'a:2'), link('a:3', 'a:1'), link('e:x', 'a:4')]) g.apply(l);
    const all = ['a:1', 'a:2', 'a:3', 'a:4', 'u:y', 'u:z', 'e:x'];
    const entries = all.map((id) => [id, g.entryOf(id)!] as const);
    expect(entries.filter(([, value]) => value === '#').map(([id]) => id).sort()).toEqual(['e:x', 'u:y']);
    const replayed = new IdentityGraph();
    for (const [id, value] of [...entries].reverse()) replayed.applyEntry(id, value);
    for (const id of all) expect(replayed.resolve(id)).toBe(g.resolve(id));
    expect(replayed.apply(link('u:a', 'a:9'))).toEqual(g.apply(link('u:a', 'a:9')));
    expect(replayed.apply(link('a:9', 'a:1'))).toEqual(g.apply(link('a:9', 'a:1')));
    expect(replayed.entryOf('u:z')).toBe(g.entryOf('u:z'));
  });

  it('reads a root entry of an older changelog (`#<n>`) as a root', () => {
    const g = new IdentityGraph();
    g.applyEntry('u:1', '#17');
    g.applyEntry('a:1', 'u:1');
    expect(g.resolve('a:1')).toBe('u:1');
    expect(g.entryOf('u:1')).toBe('#');
  });
});

const ids = ['u:1', 'u:2', 'u:3', 'e:h1', 'e:h2', 'a:1', 'a:2', 'a:3', 'a:4', 'a:5'];
const linksArb = fc.array(
  fc.tuple(fc.constantFrom(...ids), fc.constantFrom(...ids)).map(([a, b]) => link(a, b)),
  { maxLength: 25 },
);
const rank = (id: string): number => 'uea'.indexOf(id[0]!);

describe('IdentityGraph properties', () => {
  it('roots depend only on the link sequence, not on link orientation or lookups in between', () => {
    fc.assert(
      fc.property(linksArb, fc.array(fc.constantFrom(...ids)), (links, lookups) => {
        const plain = new IdentityGraph();
        const busy = new IdentityGraph();
        links.forEach((l, i) => {
          plain.apply(l);
          busy.apply(i % 2 === 0 ? l : link(l.b, l.a));
          for (const id of lookups) busy.resolve(id);
        });
        for (const id of ids) expect(busy.resolve(id)).toBe(plain.resolve(id));
      }),
    );
  });

  it('the root of each component is its least member by (namespace, id)', () => {
    fc.assert(
      fc.property(linksArb, (links) => {
        const g = new IdentityGraph();
        const seq = new Map<string, number>();
        const component = new Map<string, Set<string>>();
        for (const l of links) {
          const size = seq.size;
          for (const id of [l.a, l.b]) {
            if (!seq.has(id)) seq.set(id, size);
            if (!component.has(id)) component.set(id, new Set([id]));
          }
          const joined = new Set([...component.get(l.a)!, ...component.get(l.b)!]);
          for (const id of joined) component.set(id, joined);
          g.apply(l);
        }
        for (const [id, members] of component) {
          const least = [...members].sort(
            (x, y) => rank(x) - rank(y) || (x < y ? -1 : x > y ? 1 : 0),
          )[0];
          expect(g.resolve(id)).toBe(least);
        }
      }),
    );
  });
});

describe('IdentityGraph.forgetComponent (a deletion)', () => {
  it('removes every id of the customer and no other, and the ids can start afresh', () => {
    const graph = new IdentityGraph();
    for (const [a, b] of [['u:alice', 'a:laptop'], ['a:phone', 'a:laptop'], ['u:alice', 'e:h1'], ['u:bob', 'a:tablet']]) graph.apply({ a: a!, b: b! });
    expect(graph.forgetComponent('a:phone').sort()).toEqual(['a:laptop', 'a:phone', 'e:h1', 'u:alice']);
    for (const id of ['u:alice', 'a:laptop', 'a:phone', 'e:h1']) expect(graph.knows(id)).toBe(false);
    expect(graph.resolve('a:tablet')).toBe('u:bob');
    expect(graph.size).toBe(2);
    expect(graph.forgetComponent('u:alice')).toEqual([]);
    graph.apply({ a: 'u:alice', b: 'a:new' });
    expect(graph.resolve('a:new')).toBe('u:alice');
  });
});
