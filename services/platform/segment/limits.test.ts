import { describe, expect, it } from 'vitest';
import { batchCountProblem, eventSizeProblem, MAX_BATCH_EVENTS, MAX_EVENT_BYTES, truncateUtf8 } from './limits.js';

describe('Segment limits', () => {
  it('measures an event by its serialized UTF-8 JSON, so multi-byte text counts in bytes', () => {
    const overhead = JSON.stringify({ text: '' }).length;
    const fits = { text: 'x'.repeat(MAX_EVENT_BYTES - overhead) };
    expect(eventSizeProblem(fits)).toBeNull();
    // 'é' is two bytes in UTF-8: half as many characters already break the limit.
    const multiByte = { text: 'é'.repeat(MAX_EVENT_BYTES / 2) };
    expect(eventSizeProblem(multiByte)).toMatch(/bytes; the limit is 32768 bytes/);
  });

  it('allows 2,500 events per batch and refuses 2,501', () => {
    expect(batchCountProblem(MAX_BATCH_EVENTS)).toBeNull();
    expect(batchCountProblem(MAX_BATCH_EVENTS + 1)).toBe('batch has 2501 events; the limit is 2500');
  });

  it('cuts text to a UTF-8 byte budget without splitting a character', () => {
    expect(truncateUtf8('short', 10)).toBe('short');
    expect(truncateUtf8('abcdef', 4)).toBe('abcd');
    // 'é' is 2 bytes and '😀' 4: a budget ending inside one drops the whole character.
    expect(truncateUtf8('aé', 2)).toBe('a');
    expect(truncateUtf8('a😀b', 4)).toBe('a');
    expect(Buffer.byteLength(truncateUtf8('\uFFFD'.repeat(100_000), 65_536))).toBeLessThanOrEqual(65_536);
  });
});
