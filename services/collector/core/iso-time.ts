/**
 * ISO-8601 / RFC 3339 timestamps as Segment SDKs send them: a date, or a date-time WITH a zone
 * designator. A zone-less date-time is refused because Date.parse would read it in the server's
 * local zone, making the stored time depend on where the collector runs.
 */
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2}))?$/;

/** Epoch milliseconds of an ISO-8601 string, or null when it is not one (including impossible dates). */
export function parseIsoTimestamp(value: string): number | null {
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
  if (month < 1 || month > 12 || day < 1) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= daysInMonth;
}
