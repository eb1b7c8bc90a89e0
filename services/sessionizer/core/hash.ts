/**
 * cyrb53: a fast, well-mixed, non-cryptographic 53-bit string hash (public domain, bryc).
 * 53 bits fit a JS number exactly, so hashes can live in plain number arrays without boxing;
 * at 2^53 the chance of two of a customer's recent messageIds colliding is negligible.
 */
export function cyrb53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * 14 hex digits hold 53 bits; fixed width keeps ids sortable and equal-length. Built from three
 * small-integer pieces: toString(16) on a double above 2^31 takes V8's slow path (~2 µs).
 */
export function hashHex(hash: number): string {
  const hi = Math.floor(hash / 4294967296);
  const lo = hash - hi * 4294967296;
  return (
    hi.toString(16).padStart(6, '0') +
    (lo >>> 16).toString(16).padStart(4, '0') +
    (lo & 0xffff).toString(16).padStart(4, '0')
  );
}
