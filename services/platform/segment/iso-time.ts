/**
 * ISO-8601 / RFC 3339 timestamps as Segment SDKs send them: a date, or a date-time WITH a zone
 * designator. A zone-less date-time is refused because Date.parse would read it in the server's
 * local zone, making the stored time depend on where the collector runs.
 */
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2}))?$/;

/** Epoch milliseconds of an ISO-8601 string, or null when it is not one (including impossible dates). */
export function parseIsoTimestamp(value: string): number | null {
  const canonical = canonicalUtc(value);
  if (canonical !== null) return canonical;
  const match = ISO_8601.exec(value);
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((part) => Number(part ?? 0)) as [
    number, number, number, number, number, number,
  ];
  // Date.parse silently rolls 2024-02-30 over to March 1st; a wrong date is an invalid event, not a guess.
  if (!isCalendarDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  // Not Date.UTC: it reads years 0-99 as 1900-1999, and year 0 is a leap year where 1900 is not.
  return month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month);
}

const DIGIT_POSITIONS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];

/**
 * `2024-05-01T12:00:00.000Z`, the form Date#toISOString (so every JavaScript SDK) writes, read
 * without the regex and Date.parse, which cost ~1.8 µs per timestamp. Null for anything else,
 * impossible dates included: the general path above then decides. iso-time.test.ts holds the two
 * equal.
 */
function canonicalUtc(value: string): number | null {
  if (value.length !== 24 || value.charCodeAt(23) !== 0x5a /* Z */ || value.charCodeAt(10) !== 0x54 /* T */) return null;
  if (value.charCodeAt(4) !== 0x2d || value.charCodeAt(7) !== 0x2d || value.charCodeAt(13) !== 0x3a || value.charCodeAt(16) !== 0x3a || value.charCodeAt(19) !== 0x2e) return null;
  for (const at of DIGIT_POSITIONS) {
    const c = value.charCodeAt(at);
    if (c < 0x30 || c > 0x39) return null;
  }
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 2);
  const day = digits(value, 8, 2);
  const hour = digits(value, 11, 2);
  const minute = digits(value, 14, 2);
  const second = digits(value, 17, 2);
  // Date.UTC reads years 0-99 as 1900-1999; those (and impossible dates) take the general path.
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59) return null;
  return Date.UTC(year, month - 1, day, hour, minute, second, digits(value, 20, 3));
}

/** Not a closure inside canonicalUtc: tsx (keepNames) would name a new function object per call. */
function digits(value: string, at: number, length: number): number {
  let v = 0;
  for (let i = at; i < at + length; i++) v = v * 10 + value.charCodeAt(i) - 0x30;
  return v;
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
