/**
 * One customer's state as the journey step writes it to its changelog and sends it in a merge
 * transfer: the sessions part (core/customer-codec.ts) and the journey part (stages/state-codec.ts),
 * either possibly absent, in ONE value, so a customer costs one changelog record per flush.
 * Layout: [0x01 format][u32 BE sessions bytes, 0xFFFFFFFF = none][sessions][journey (rest; empty = none)].
 */
export interface CustomerStateParts {
  sessions: Uint8Array | null;
  journey: Uint8Array | null;
}

const FORMAT = 0x01;
const ABSENT = 0xffffffff;
/** Bytes of a value besides its two parts (format byte and sessions length). */
export const CUSTOMER_STATE_HEADER_BYTES = 5;

/** The value for both parts, or null (a tombstone) when the customer has neither. */
export function encodeCustomerState(parts: CustomerStateParts): Buffer | null {
  if (parts.sessions === null && parts.journey === null) return null;
  const sessions = parts.sessions ?? new Uint8Array(0);
  const journey = parts.journey ?? new Uint8Array(0);
  const out = Buffer.allocUnsafe(5 + sessions.length + journey.length);
  out[0] = FORMAT;
  out.writeUInt32BE(parts.sessions === null ? ABSENT : sessions.length, 1);
  out.set(sessions, 5);
  out.set(journey, 5 + sessions.length);
  return out;
}

export function decodeCustomerState(bytes: Uint8Array): CustomerStateParts {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < 5 || buffer[0] !== FORMAT) throw new Error(`not a customer state (format byte ${buffer[0]})`);
  const length = buffer.readUInt32BE(1);
  const sessionsEnd = length === ABSENT ? 5 : 5 + length;
  if (sessionsEnd > buffer.length) throw new Error('customer state cut short');
  return {
    sessions: length === ABSENT ? null : buffer.subarray(5, sessionsEnd),
    journey: sessionsEnd < buffer.length ? buffer.subarray(sessionsEnd) : null,
  };
}
