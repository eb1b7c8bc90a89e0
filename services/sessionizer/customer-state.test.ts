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

  it('refuses a value of another format or cut short', () => {
    expect(() => decodeCustomerState(Buffer.from('{"sessions":[]}'))).toThrow(/not a customer state/);
    const cut = encodeCustomerState({ sessions: bytes(1, 2, 3, 4), journey: null })!.subarray(0, 7);
    expect(() => decodeCustomerState(cut)).toThrow(/cut short/);
  });
});
