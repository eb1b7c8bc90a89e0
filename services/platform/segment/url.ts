/** A URL, or null for anything the WHATWG parser refuses (relative paths, garbage). */
export function parseUrl(value: string | null): URL | null {
  if (value === null) return null;
  try {
    return new URL(value);
  } catch {
    return null;
  }
}
