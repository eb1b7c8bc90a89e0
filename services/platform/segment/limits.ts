/**
 * Segment HTTP Tracking API limits, so SDKs that already batch within them never see a refusal here.
 * The request limit counts the body's bytes after gzip decompression; the event limit counts the
 * event's JSON as JSON.stringify writes it (UTF-8), which json-size.ts reads off the bytes received.
 */
export const MAX_EVENT_BYTES = 32 * 1024;
export const MAX_REQUEST_BYTES = 500 * 1024;
export const MAX_BATCH_EVENTS = 2_500;
/** Not a Segment limit: a guard so recursive JSON handling cannot overflow the stack. Real events nest < 10 deep. */
export const MAX_NESTING_DEPTH = 64;

/**
 * Not a Segment limit: a dead letter keeps at most this much of its event (and of its key). Refused
 * events can be far larger than their request bytes once re-serialized (invalid UTF-8 becomes 3-byte
 * U+FFFD, `1e20` becomes 21 digits), and Kafka refuses a record batch over 1 MB (message.max.bytes).
 */
export const MAX_DEAD_LETTER_PAYLOAD_BYTES = 64 * 1024;
export const MAX_DEAD_LETTER_KEY_BYTES = 1024;

/** The longest prefix of `text` that is at most `maxBytes` of UTF-8 (never half a character). */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  // Back up to the first byte of the character the cut would split (continuation bytes are 10xxxxxx).
  let end = maxBytes;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** Serialized size of one event; the 32 KB rule is about the event's JSON, not its in-memory size. */
export function eventBytes(event: unknown): number {
  return Buffer.byteLength(JSON.stringify(event) ?? '', 'utf8');
}

/** A reason when the event is over the per-event limit, else null. */
export function eventSizeProblem(event: unknown): string | null {
  return sizeProblem(eventBytes(event));
}

/** The same for an event whose serialized size is known already (json-size.ts measures it from the bytes received). */
export function sizeProblem(bytes: number): string | null {
  return bytes > MAX_EVENT_BYTES ? `event is ${bytes} bytes; the limit is ${MAX_EVENT_BYTES} bytes` : null;
}

/** A reason when a batch has more events than allowed, else null. */
export function batchCountProblem(count: number): string | null {
  return count > MAX_BATCH_EVENTS ? `batch has ${count} events; the limit is ${MAX_BATCH_EVENTS}` : null;
}
