import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './cursor.js';

describe('timeline cursor', () => {
  it('round-trips the last (time, messageId) served, including ids with any characters', () => {
    for (const c of [
      { tsMs: 0, messageId: 'm' },
      { tsMs: Date.UTC(2026, 2, 4, 12), messageId: "x' OR '1'='1" },
      { tsMs: 1_772_625_600_123, messageId: 'ü/€ 🙂' },
    ]) {
      const text = encodeCursor(c);
      expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeCursor(text)).toEqual(c);
    }
  });

  it('rejects anything it did not produce with a 400 naming the parameter', () => {
    const b64 = (v: string) => Buffer.from(v, 'utf8').toString('base64url');
    for (const text of [
      '',
      'not a cursor',
      'a+b/c=',
      b64('{"tsMs":1,"messageId":"m"}'),
      b64('[1]'),
      b64('[1,"m",2]'),
      b64('[-1,"m"]'),
      b64('[1.5,"m"]'),
      b64('["1","m"]'),
      b64('[1,""]'),
      b64(`[1,"${'x'.repeat(501)}"]`),
      b64('[1e300,"m"]'),
      'A'.repeat(1_001),
    ]) {
      expect(() => decodeCursor(text), text).toThrow(/^cursor: /);
    }
  });
});
