import { describe, expect, it } from 'vitest';
import { collectGarbage } from './collect-garbage.js';

describe('collectGarbage', () => {
  it('frees the memory of buffers nothing refers to any more, at once', () => {
    collectGarbage();
    const before = process.memoryUsage().arrayBuffers;
    let held: Buffer | null = Buffer.alloc(64 * 1024 * 1024, 1);
    expect(process.memoryUsage().arrayBuffers - before).toBeGreaterThanOrEqual(64 * 1024 * 1024);
    held = null;
    expect(held).toBeNull();
    expect(collectGarbage()).toBe(true);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1024 * 1024);
  });
});
