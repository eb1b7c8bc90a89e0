import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packBytes, packedFloat64LE, unpackBytes } from './packed-bytes.js';

describe('packed bytes', () => {
  it('gives back exactly the bytes packed, of a view into a larger buffer too, whatever the plain prefix (property)', () => {
    const zeroHeavy = fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 255 })), { maxLength: 900 }).map((a) => Uint8Array.from(a));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), zeroHeavy), fc.nat(16), fc.nat(40), (bytes, pad, plain) => {
        const outer = new Uint8Array(pad + bytes.length + 3).fill(0xaa);
        outer.set(bytes, pad);
        const packed = packBytes(outer.subarray(pad, pad + bytes.length), plain);
        expect(new Uint8Array(unpackBytes(packed, plain))).toEqual(bytes);
      }),
    );
  });

  it('keeps a run of zeros as two characters, and the plain prefix as it is', () => {
    const bytes = Buffer.concat([Buffer.from([0, 0, 7]), Buffer.alloc(600), Buffer.from([9, 0, 9])]);
    const packed = packBytes(bytes, 3);
    // 3 plain, 600 zeros as 255 + 255 + 90 (6 characters), 9, a lone zero (2), 9.
    expect(packed.length).toBe(3 + 6 + 4);
    expect(packed.slice(0, 3)).toBe('\u0000\u0000\u0007');
    expect(unpackBytes(packed, 3).equals(bytes)).toBe(true);
  });

  it('reads a little-endian float64 in place, within the plain prefix', () => {
    const bytes = Buffer.alloc(40);
    bytes.writeDoubleLE(1_796_083_200_000.5, 3);
    bytes.writeDoubleLE(Number.NaN, 11);
    const packed = packBytes(bytes, 19);
    expect(packedFloat64LE(packed, 3)).toBe(1_796_083_200_000.5);
    expect(packedFloat64LE(packed, 11)).toBeNaN();
    expect(packed.length).toBeLessThan(bytes.length);
  });
});
