import { describe, expect, it } from 'vitest';
import { IdentityGraph } from '../core/identity.js';
import { componentOf, foldLinkEntries, linkAdjacency } from '../../platform/privacy/linked-ids.js';

describe('linked ids from identity-links', () => {
  it('finds the whole customer the union-find built, whatever the pointers look like, and nothing of another', () => {
    const graph = new IdentityGraph();
    for (const [a, b] of [['u:alice', 'a:laptop'], ['a:phone', 'a:laptop'], ['u:alice', 'e:h1'], ['u:bob', 'a:tablet']]) graph.apply({ a: a!, b: b! });
    const ids = ['u:alice', 'a:laptop', 'a:phone', 'e:h1', 'u:bob', 'a:tablet'];
    const records = ids.map((id) => ({ key: id, value: graph.entryOf(id)! }));
    const adjacency = linkAdjacency(foldLinkEntries([{ key: '@router-applied:0', value: '5@1' }, ...records]));
    expect(componentOf(adjacency, 'a:phone').sort()).toEqual(['a:laptop', 'a:phone', 'e:h1', 'u:alice']);
    expect(componentOf(adjacency, 'u:bob').sort()).toEqual(['a:tablet', 'u:bob']);
    expect(componentOf(adjacency, 'u:nobody')).toEqual(['u:nobody']);
  });

  it('reads a tombstone as the end of a link', () => {
    const adjacency = linkAdjacency(foldLinkEntries([{ key: 'a:x', value: 'u:y' }, { key: 'u:y', value: '#' }, { key: 'a:x', value: null }]));
    expect(componentOf(adjacency, 'u:y')).toEqual(['u:y']);
  });
});
