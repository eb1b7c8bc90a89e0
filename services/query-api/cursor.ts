import { BadRequestError } from './params.js';

/**
 * Keyset position in a customer's timeline: the (ts, messageId) of the last touchpoint served.
 * The timeline is ordered by exactly this pair and each pair is served once, so "rows after the
 * cursor" never repeats or skips a row whatever is inserted meanwhile at later times. Opaque to
 * callers (base64url JSON) so the encoding can change without breaking the contract.
 */
export interface TimelineCursor {
  tsMs: number;
  messageId: string;
}

const MAX_CURSOR_CHARS = 1_000;

export function encodeCursor(c: TimelineCursor): string {
  return Buffer.from(JSON.stringify([c.tsMs, c.messageId]), 'utf8').toString('base64url');
}

/** The cursor a previous page returned; anything else is a 400 naming the parameter. */
export function decodeCursor(text: string): TimelineCursor {
  const invalid = () => new BadRequestError('cursor: not a cursor this API returned (pass nextCursor unchanged)');
  if (text.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) throw invalid();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(value) || value.length !== 2) throw invalid();
  const [tsMs, messageId] = value as unknown[];
  if (typeof tsMs !== 'number' || !Number.isSafeInteger(tsMs) || tsMs < 0) throw invalid();
  if (typeof messageId !== 'string' || messageId.length === 0 || messageId.length > 500) throw invalid();
  return { tsMs, messageId };
}
