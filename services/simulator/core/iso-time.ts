/** "000".."999": the millisecond part of an ISO timestamp without padding at run time. */
const MILLIS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * Formats epoch ms as ISO-8601 (`2024-05-01T12:00:00.123Z`), like `Date#toISOString`, but builds a
 * Date only when the second changes: simulated calls come in time order, so most calls reuse the
 * cached `YYYY-MM-DDTHH:MM:SS.` prefix.
 */
export class IsoFormatter {
  private second = Number.NaN;
  private prefix = '';

  format(ms: number): string {
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      this.second = second;
      this.prefix = new Date(second * 1000).toISOString().slice(0, 20);
    }
    return this.prefix + MILLIS[ms - second * 1000] + 'Z';
  }
}
