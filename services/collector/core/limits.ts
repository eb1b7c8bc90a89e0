/**
 * Segment HTTP Tracking API limits, so SDKs that already batch within them never see a refusal here.
 * Sizes are bytes of the JSON as received (the request limit applies after gzip decompression).
 */
export const MAX_EVENT_BYTES = 32 * 1024;
export const MAX_REQUEST_BYTES = 500 * 1024;
export const MAX_BATCH_EVENTS = 2_500;
/** Not a Segment limit: a guard so recursive JSON handling cannot overflow the stack. Real events nest < 10 deep. */
export const MAX_NESTING_DEPTH = 64;

/** Serialized size of one event; the 32 KB rule is about the event's JSON, not its in-memory size. */
export function eventBytes(event: unknown): number {
  return Buffer.byteLength(JSON.stringify(event) ?? '', 'utf8');
}

/** A reason when the event is over the per-event limit, else null. */
export function eventSizeProblem(event: unknown): string | null {
  const bytes = eventBytes(event);
  return bytes > MAX_EVENT_BYTES ? `event is ${bytes} bytes; the limit is ${MAX_EVENT_BYTES} bytes` : null;
}

/** A reason when a batch has more events than allowed, else null. */
export function batchCountProblem(count: number): string | null {
  return count > MAX_BATCH_EVENTS ? `batch has ${count} events; the limit is ${MAX_BATCH_EVENTS}` : null;
}
