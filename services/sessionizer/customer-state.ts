/**
 * One customer's state as the journey step writes it to its changelog and sends it in a merge
 * transfer: the sessions part (core/customer-codec.ts), the journey part (stages/state-codec.ts) and
 * the attribution part (attribution/attribution-state-codec.ts), each possibly absent, in ONE value,
 * so a customer costs one changelog record per flush.
 * Format 1 (no attribution part; still written then, and read):
 *   [0x01][u32 BE sessions bytes, 0xFFFFFFFF = none][sessions][journey (rest; empty = none)].
 * Format 2 (with an attribution part):
 *   [0x02][u32 BE sessions bytes | none][sessions][u32 BE journey bytes | none][journey][attribution (rest)].
 */
export interface CustomerStateParts {
  sessions: Uint8Array | null;
  journey: Uint8Array | null;
  /** Absent in values written before attribution ran in the journey step. */
  attribution?: Uint8Array | null;
}

const FORMAT = 0x01;
const FORMAT_WITH_ATTRIBUTION = 0x02;
const ABSENT = 0xffffffff;
/** Bytes of a value besides its parts (format byte and part lengths), at most. */
export const CUSTOMER_STATE_HEADER_BYTES = 9;

/** The value for every part, or null (a tombstone) when the customer has none. */
export function encodeCustomerState(parts: CustomerStateParts): Buffer | null {
  const attribution = parts.attribution ?? null;
  if (parts.sessions === null && parts.journey === null && attribution === null) return null;
  const sessions = parts.sessions ?? new Uint8Array(0);
  const journey = parts.journey ?? new Uint8Array(0);
  if (attribution === null) {
    const out = Buffer.allocUnsafe(5 + sessions.length + journey.length);
    out[0] = FORMAT;
    out.writeUInt32BE(parts.sessions === null ? ABSENT : sessions.length, 1);
    out.set(sessions, 5);
    out.set(journey, 5 + sessions.length);
    return out;
  }
  const out = Buffer.allocUnsafe(9 + sessions.length + journey.length + attribution.length);
  out[0] = FORMAT_WITH_ATTRIBUTION;
  out.writeUInt32BE(parts.sessions === null ? ABSENT : sessions.length, 1);
  out.set(sessions, 5);
  const at = 5 + sessions.length;
  out.writeUInt32BE(parts.journey === null ? ABSENT : journey.length, at);
  out.set(journey, at + 4);
  out.set(attribution, at + 4 + journey.length);
  return out;
}

export function decodeCustomerState(bytes: Uint8Array): CustomerStateParts {
  // A restore hands every value in as a Buffer already: no second view of it then.
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const format = buffer[0];
  if (buffer.length < 5 || (format !== FORMAT && format !== FORMAT_WITH_ATTRIBUTION)) throw new Error(`not a customer state (format byte ${format})`);
  const length = buffer.readUInt32BE(1);
  const sessionsEnd = length === ABSENT ? 5 : 5 + length;
  if (sessionsEnd > buffer.length) throw new Error('customer state cut short');
  const sessions = length === ABSENT ? null : buffer.subarray(5, sessionsEnd);
  if (format === FORMAT) return { sessions, journey: sessionsEnd < buffer.length ? buffer.subarray(sessionsEnd) : null, attribution: null };
  if (sessionsEnd + 4 > buffer.length) throw new Error('customer state cut short');
  const journeyLength = buffer.readUInt32BE(sessionsEnd);
  const journeyEnd = journeyLength === ABSENT ? sessionsEnd + 4 : sessionsEnd + 4 + journeyLength;
  if (journeyEnd > buffer.length) throw new Error('customer state cut short');
  return {
    sessions,
    journey: journeyLength === ABSENT ? null : buffer.subarray(sessionsEnd + 4, journeyEnd),
    attribution: journeyEnd < buffer.length ? buffer.subarray(journeyEnd) : null,
  };
}
