import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packBytes, packedFloat64LE, unpackBytes } from './packed-bytes.js';

describe('packed bytes', () => {
  it('gives back exactly the bytes packed, of a view into a larger buffer too (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(16), (bytes, pad) => {
        const outer = new Uint8Array(pad + bytes.length + 3).fill(0xaa);
        outer.set(bytes, pad);
        const packed = packBytes(outer.subarray(pad, pad + bytes.length));
        expect(packed.length).toBe(bytes.length);
        expect(new Uint8Array(unpackBytes(packed))).toEqual(bytes);
      }),
    );
  });

  it('reads a little-endian float64 in place', () => {
    const bytes = Buffer.alloc(20);
    bytes.writeDoubleLE(1_796_083_200_000.5, 3);
    bytes.writeDoubleLE(Number.NaN, 11);
    const packed = packBytes(bytes);
    expect(packedFloat64LE(packed, 3)).toBe(1_796_083_200_000.5);
    expect(packedFloat64LE(packed, 11)).toBeNaN();
  });
});
