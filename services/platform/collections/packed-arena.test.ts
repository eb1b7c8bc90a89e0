import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PackedArena } from './packed-arena.js';
import { packBytes } from './packed-bytes.js';

const zeroHeavy = fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 255 })), { maxLength: 300 }).map((a) => Uint8Array.from(a));

describe('PackedArena', () => {
  it('gives back every entry exactly, across slabs, oversized entries, frees and compactions (property, against a Map of the bytes)', () => {
    const op = fc.oneof(
      fc.record({ add: fc.oneof(zeroHeavy, fc.uint8Array({ maxLength: 200 })), plain: fc.nat(20) }),
      fc.record({ free: fc.nat() }),
      fc.constant({ compact: true }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const arena = new PackedArena(256);
        const held = new Map<number, { ref: number; bytes: Uint8Array; plain: number }>();
        let next = 0;
        for (const o of ops) {
          if ('add' in o) held.set(next++, { ref: arena.add(o.add, o.plain), bytes: o.add, plain: o.plain });
          else if ('free' in o) {
            const id = [...held.keys()][o.free % Math.max(1, held.size)];
            if (id === undefined) continue;
            arena.free(held.get(id)!.ref);
            held.delete(id);
          } else
            arena.compact((move) => {
              for (const entry of held.values()) entry.ref = move(entry.ref);
            });
        }
        for (const { ref, bytes, plain } of held.values()) expect(new Uint8Array(arena.unpack(ref, plain))).toEqual(bytes);
      }),
    );
  });

  it('gives back a spliced entry as the bytes spliced (property)', () => {
    fc.assert(
      fc.property(zeroHeavy, fc.nat(), fc.nat(), fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })), fc.nat(30), (bytes, a, b, standIn, plain) => {
        const from = a % (bytes.length + 1);
        const to = from + (b % (bytes.length - from + 1));
        const spliced = Buffer.concat([bytes.subarray(0, from), Buffer.from([standIn]), bytes.subarray(to)]);
        const arena = new PackedArena(128);
        const before = arena.add(Buffer.from([0, 0, 1]), 0);
        const ref = arena.addSpliced(bytes, plain, from, to, standIn);
        expect(arena.unpack(ref, plain).equals(spliced)).toBe(true);
        expect([...arena.unpack(before, 0)]).toEqual([0, 0, 1]);
        if (plain > 0 && spliced.length > 0) expect(arena.byte(ref, 0)).toBe(spliced[0]);
      }),
    );
  });

  it('packs as packBytes does, and reads the plain prefix in place', () => {
    const arena = new PackedArena(64);
    const bytes = Buffer.alloc(40);
    bytes.writeDoubleLE(1_796_083_200_000.5, 3);
    bytes.writeDoubleLE(Number.NaN, 11);
    bytes[19] = 7;
    const ref = arena.add(bytes, 20);
    expect(arena.float64LE(ref, 3)).toBe(1_796_083_200_000.5);
    expect(arena.float64LE(ref, 11)).toBeNaN();
    expect(arena.byte(ref, 19)).toBe(7);
    // 4 bytes of length, then packBytes' bytes, 4-aligned.
    expect(arena.stats().liveBytes).toBe((4 + packBytes(bytes, 20).length + 3) & ~3);
    // An entry longer than a slab gets one of its own; the next entry starts another.
    const big = Buffer.alloc(100, 5);
    const refBig = arena.add(big, 0);
    const after = arena.add(Buffer.from([1, 2, 3]), 0);
    expect(arena.stats().slabs).toBe(3);
    expect(arena.unpack(refBig, 0).equals(big)).toBe(true);
    expect(arena.unpack(after, 0).equals(Buffer.from([1, 2, 3]))).toBe(true);
    expect(arena.unpack(ref, 20).equals(bytes)).toBe(true);
  });

  it('counts freed bytes as waste until a compaction keeps only the live entries', () => {
    const arena = new PackedArena(64);
    const refs = Array.from({ length: 40 }, (_, i) => arena.add(Buffer.from([i + 1, i + 2, i + 3, i + 4]), 0));
    // 8-byte entries; room is kept for the worst packing (4 + 2 × 4 bytes), so 7 a slab: 6 slabs.
    expect(arena.stats()).toEqual({ slabs: 6, liveBytes: 320, deadBytes: 0 });
    for (const ref of refs.slice(0, 30)) arena.free(ref);
    expect(arena.stats()).toEqual({ slabs: 6, liveBytes: 80, deadBytes: 240 });
    expect(arena.wasteful()).toBe(false); // less than 8 slabs' worth wasted
    const kept = refs.slice(30);
    arena.compact((move) => kept.forEach((ref, i) => (kept[i] = move(ref))));
    expect(arena.stats()).toEqual({ slabs: 2, liveBytes: 80, deadBytes: 0 });
    kept.forEach((ref, i) => expect([...arena.unpack(ref, 0)]).toEqual([i + 31, i + 32, i + 33, i + 34]));
  });
});
