import type { Backoff } from '../../platform/retry/backoff.js';

/**
 * ClickHouse error codes that mean "this data can never be inserted as it is" (parse, type and
 * constraint errors). Anything else (network, timeouts, TOO_MANY_PARTS, memory limits, a server
 * restarting) is retried with backoff: the data is fine, the moment is not.
 */
const DATA_ERROR_CODES = new Set([
  '6', // CANNOT_PARSE_TEXT
  '26', // CANNOT_PARSE_QUOTED_STRING
  '27', // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  '38', // CANNOT_PARSE_DATE
  '41', // CANNOT_PARSE_DATETIME
  '53', // TYPE_MISMATCH
  '69', // ARGUMENT_OUT_OF_BOUND
  '70', // CANNOT_CONVERT_TYPE
  '72', // CANNOT_PARSE_NUMBER
  '117', // INCORRECT_DATA
  '131', // TOO_LARGE_STRING_SIZE
  '349', // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  '469', // VIOLATED_CONSTRAINT
  '1001', // STD_EXCEPTION (e.g. bad UTF-8 in some paths)
]);

export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code !== undefined && DATA_ERROR_CODES.has(String(code));
}

/** Between insert attempts: 100 ms doubling to 5 s (equal jitter, platform/retry/backoff.ts). */
export const INSERT_BACKOFF: Backoff = { baseMs: 100, capMs: 5_000 };
