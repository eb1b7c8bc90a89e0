import { describe, expect, it } from 'vitest';
import { collectGarbage } from './collect-garbage.js';

const MiB = 1024 * 1024;

describe('collectGarbage', () => {
  it('frees the memory of buffers nothing refers to any more, at once', () => {
    // The figure is the process' (test files in other threads allocate too): margins of 16 MiB.
    collectGarbage();
    const before = process.memoryUsage().arrayBuffers;
    let held: Buffer | null = Buffer.alloc(128 * MiB, 1);
    const holding = process.memoryUsage().arrayBuffers;
    expect(holding - before).toBeGreaterThan(112 * MiB);
    held = null;
    expect(held).toBeNull();
    expect(collectGarbage()).toBe(true);
    expect(holding - process.memoryUsage().arrayBuffers).toBeGreaterThan(112 * MiB);
  });
});
