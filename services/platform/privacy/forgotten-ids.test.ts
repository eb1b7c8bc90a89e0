import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ForgottenIds, forgottenIdHash } from './forgotten-ids.js';

const AT = 1_000_000;

describe('ForgottenIds', () => {
  it('hashes a namespaced id with SHA-256, the only form a forgotten id is kept in', () => {
    expect(forgottenIdHash('u:alice')).toBe(createHash('sha256').update('u:alice').digest('hex'));
  });

  it('drops data of a forgotten id received up to its deletion, and lets later data through unless suppressed', () => {
    const set = new ForgottenIds();
    set.add(forgottenIdHash('u:alice'), { deletionId: 'd1', at: AT, suppress: false });
    expect(set.drops(['u:alice'], AT)).toBe(true);
    expect(set.drops([null, 'a:dev', 'u:alice'], AT - 1)).toBe(true);
    expect(set.drops(['u:alice'], AT + 1)).toBe(false);
    expect(set.drops(['u:bob'], AT)).toBe(false);
    expect(set.suppresses(['u:alice'])).toBe(false);
    set.add(forgottenIdHash('a:dev'), { deletionId: 'd2', at: AT, suppress: true });
    expect(set.drops(['a:dev'], AT + 10_000)).toBe(true);
    expect(set.suppresses(['a:dev'])).toBe(true);
  });

  it('keeps a suppression when a later plain deletion of the same id comes, and the latest deletion time', () => {
    const set = new ForgottenIds();
    set.add('h', { deletionId: 'd1', at: AT, suppress: true });
    set.add('h', { deletionId: 'd2', at: AT + 5, suppress: false });
    set.add(forgottenIdHash('u:x'), { deletionId: 'd3', at: AT, suppress: false });
    set.add(forgottenIdHash('u:x'), { deletionId: 'd4', at: AT - 5, suppress: false });
    expect(set.drops(['u:x'], AT)).toBe(true);
  });

  it('refuses entries past its bound instead of growing', () => {
    const set = new ForgottenIds(2);
    expect(set.add('a', { deletionId: 'd', at: AT, suppress: false })).toBe(true);
    expect(set.add('b', { deletionId: 'd', at: AT, suppress: false })).toBe(true);
    expect(set.add('c', { deletionId: 'd', at: AT, suppress: false })).toBe(false);
    expect(set.add('a', { deletionId: 'd', at: AT + 1, suppress: false })).toBe(true);
    expect(set.size).toBe(2);
  });
});
