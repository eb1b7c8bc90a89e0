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
});
