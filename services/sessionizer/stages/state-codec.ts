import { JourneyStateSchema, type JourneyState } from './journey-state.js';

/**
 * The compacted changelog value for one customer: versioned JSON, because the state is plain data
 * and JSON keeps the changelog readable with any Kafka tool. Decoding validates, so a corrupt or
 * foreign record fails loudly at restore instead of poisoning a journey later.
 */
const SNAPSHOT_VERSION = 1;

export class SnapshotError extends Error {
  readonly retriable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SnapshotError';
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeJourneyState(state: JourneyState): Uint8Array {
  return encoder.encode(JSON.stringify({ v: SNAPSHOT_VERSION, state }));
}

export function decodeJourneyState(bytes: Uint8Array): JourneyState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch (cause) {
    throw new SnapshotError('journey snapshot is not UTF-8 JSON', { cause });
  }
  const v = (parsed as { v?: unknown } | null)?.v;
  if (v !== SNAPSHOT_VERSION) throw new SnapshotError(`unsupported journey snapshot version ${String(v)}`);
  const result = JourneyStateSchema.safeParse((parsed as { state?: unknown }).state);
  if (!result.success) throw new SnapshotError(`invalid journey snapshot: ${result.error.issues[0]?.message ?? 'unknown'}`, { cause: result.error });
  return result.data;
}
