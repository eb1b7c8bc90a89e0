import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * What a key may do. `dashboard`: read aggregates (counts, rates, series) that name no customer.
 * `profiles`: customer-level data (the customer endpoints, the churn list) — and, as a superset,
 * everything a `dashboard` key may read: whoever may see one person may see the totals.
 * `admin`: the /admin endpoints (deletions, README: Privacy) and nothing else — a key that can
 * erase customers is handed to a privacy tool or a DPO, who need not read anyone's journey.
 */
export const SCOPES = ['dashboard', 'profiles', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** The scopes a key of `scope` holds. */
const GRANTS: Record<Scope, readonly Scope[]> = { dashboard: ['dashboard'], profiles: ['dashboard', 'profiles'], admin: ['admin'] };

export const scopeAllows = (held: Scope, required: Scope): boolean => GRANTS[held].includes(required);

/** RFC 6750 token characters, and long enough that guessing is hopeless. */
const KEY = /^[A-Za-z0-9\-._~+/]+=*$/;

export const ApiKeySchema = z.strictObject({
  /** Who holds the key (logged, unlike the key): "crm", "marketing-dashboard". */
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - only (1–64)'),
  key: z.string().min(24, 'at least 24 characters (e.g. openssl rand -base64 32)').max(512).regex(KEY, 'letters, digits and - . _ ~ + / (then = padding) only'),
  scope: z.enum(SCOPES),
});
export type ApiKey = z.infer<typeof ApiKeySchema>;

export const ApiKeysFileSchema = z
  .strictObject({ keys: z.array(ApiKeySchema).min(1, 'at least one key') })
  .superRefine((file, ctx) => {
    const seen = { name: new Set<string>(), key: new Set<string>() };
    file.keys.forEach((k, i) => {
      for (const field of ['name', 'key'] as const) {
        if (seen[field].has(k[field])) ctx.addIssue({ code: 'custom', path: ['keys', i, field], message: `duplicate ${field}` });
        seen[field].add(k[field]);
      }
    });
  });

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Whether two secrets are equal, in time that depends on neither's content nor length: both are
 * hashed to 32 bytes first, because timingSafeEqual itself needs equal lengths (and returning early
 * on a length mismatch would tell an attacker the key's length).
 */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * The key `presented` matches, or undefined. Every configured key is compared (no early return),
 * so the time taken does not tell which key, or whether any, came close.
 */
export function findApiKey(keys: readonly ApiKey[], presented: string): ApiKey | undefined {
  let found: ApiKey | undefined;
  for (const k of keys) if (constantTimeEqual(k.key, presented) && found === undefined) found = k;
  return found;
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header ?? '');
  return match?.[1];
}
