import { describe, expect, it } from 'vitest';
import { decodeCustomerState, encodeCustomerState } from './customer-state.js';

const bytes = (...xs: number[]) => new Uint8Array(xs);

describe('customer state value', () => {
  it('round-trips every combination of present, empty and absent parts', () => {
    for (const sessions of [null, bytes(), bytes(1, 2, 3)]) {
      for (const journey of [null, bytes(9, 8)]) {
        const encoded = encodeCustomerState({ sessions, journey });
        if (sessions === null && journey === null) {
          expect(encoded).toBeNull();
          continue;
        }
        const decoded = decodeCustomerState(encoded!);
        expect(decoded.sessions === null ? null : [...decoded.sessions]).toEqual(sessions === null ? null : [...sessions]);
        expect(decoded.journey === null ? null : [...decoded.journey]).toEqual(journey === null ? null : [...journey]);
      }
    }
  });

  it('writes format 2 with an attribution part, and still reads format 1 (no attribution part)', () => {
    for (const sessions of [null, bytes(), bytes(1, 2, 3)]) {
      for (const journey of [null, bytes(), bytes(9, 8)]) {
        const encoded = encodeCustomerState({ sessions, journey, attribution: bytes(7, 7) })!;
        expect(encoded[0]).toBe(2);
        const decoded = decodeCustomerState(encoded);
        expect(decoded.sessions === null ? null : [...decoded.sessions]).toEqual(sessions === null ? null : [...sessions]);
        expect(decoded.journey === null ? null : [...decoded.journey]).toEqual(journey === null ? null : [...journey]);
        expect([...decoded.attribution!]).toEqual([7, 7]);
      }
    }
    const old = encodeCustomerState({ sessions: bytes(1), journey: bytes(2) })!;
    expect(old[0]).toBe(1);
    expect(decodeCustomerState(old).attribution).toBeNull();
    expect(encodeCustomerState({ sessions: null, journey: null, attribution: null })).toBeNull();
    expect(() => decodeCustomerState(encodeCustomerState({ sessions: bytes(1), journey: bytes(1, 2, 3), attribution: bytes(1) })!.subarray(0, 9))).toThrow(/cut short/);
  });

  it('refuses a value of another format or cut short', () => {
    expect(() => decodeCustomerState(Buffer.from('{"sessions":[]}'))).toThrow(/not a customer state/);
    const cut = encodeCustomerState({ sessions: bytes(1, 2, 3, 4), journey: null })!.subarray(0, 7);
    expect(() => decodeCustomerState(cut)).toThrow(/cut short/);
  });
});
