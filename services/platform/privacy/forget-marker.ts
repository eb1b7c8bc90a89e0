import { ForgottenIdEntry } from './forgotten-ids.js';

/**
 * Forget markers live in identity-links beside the links, under keys no id can take (ids are
 * `u:`, `a:`, `e:`; router markers `@router-applied:`): `@forgotten:<SHA-256 of the id>`.
 */
const PREFIX = '@forgotten:';

export const forgetMarkerKey = (idHash: string): string => `${PREFIX}${idHash}`;

/** The id hash and entry of a forget marker, or null when the key is not one (or its value is unreadable). */
export function readForgetMarker(key: string, value: string): { idHash: string; entry: ForgottenIdEntry } | null {
  if (!key.startsWith(PREFIX)) return null;
  try {
    const entry = ForgottenIdEntry.safeParse(JSON.parse(value));
    return entry.success ? { idHash: key.slice(PREFIX.length), entry: entry.data } : null;
  } catch {
    return null;
  }
}

export const isForgetMarkerKey = (key: string): boolean => key.startsWith(PREFIX);
