import { describe, expect, it } from 'vitest';
import { RecentMessages } from './recent-messages.js';

describe('RecentMessages', () => {
  it('reports a repeated messageId and forgets the oldest beyond its capacity', () => {
    const recent = new RecentMessages(2);
    expect(recent.seenBefore('a')).toBe(false);
    expect(recent.seenBefore('a')).toBe(true); // a repeat within the same batch
    recent.commit();
    expect(recent.seenBefore('a')).toBe(true);
    expect(recent.seenBefore('b')).toBe(false);
    expect(recent.seenBefore('c')).toBe(false);
    recent.commit(); // a, b, c: a is evicted
    expect(recent.size).toBe(2);
    expect(recent.seenBefore('a')).toBe(false);
    expect(recent.seenBefore('c')).toBe(true);
  });

  it('forgets the ids of a batch whose outputs were not stored, so its retry is not dropped', () => {
    const recent = new RecentMessages(10);
    expect(recent.seenBefore('x')).toBe(false);
    recent.rollback();
    expect(recent.seenBefore('x')).toBe(false);
  });

  it('commits only the ids routed before a durable point; later ones stay pending and a rollback forgets them', () => {
    const recent = new RecentMessages(10);
    recent.seenBefore('a');
    recent.seenBefore('b');
    const durable = recent.position;
    recent.seenBefore('c'); // routed after the durable point was taken
    expect(recent.commit(durable)).toHaveLength(2);
    expect(recent.commit(durable)).toHaveLength(0); // a point commits once
    recent.rollback(); // c's send failed
    expect(recent.seenBefore('a')).toBe(true);
    expect(recent.seenBefore('c')).toBe(false);
    const after = recent.position; // positions go on after a rollback: c, checked again, is before it
    recent.seenBefore('d');
    expect(recent.commit(after)).toHaveLength(1);
    expect(recent.commit()).toHaveLength(1); // d
  });
});
