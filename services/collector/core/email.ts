import { createHash } from 'node:crypto';
import { isJsonObject } from './json-object.js';

/** Keys that hold an email address: email, Email, e-mail, email_address, emailAddress. */
const EMAIL_KEY = /^e[-_]?mail(?:[-_]?address)?$/i;

/**
 * sha256 hex of the trimmed, lower-cased address: the pseudonymous join key a source can opt into.
 * Null when there is no usable address.
 */
export function hashEmail(email: unknown): string | null {
  if (typeof email !== 'string') return null;
  const normalized = email.trim().toLowerCase();
  if (normalized === '') return null;
  return createHash('sha256').update(normalized, 'utf8').digest('hex');
}

/**
 * A deep copy without email fields. Raw emails never leave the collector (not to Kafka, not to the
 * dead-letter topic, not to logs), whether or not the source opted into hashing them.
 */
export function withoutEmails(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmails);
  if (!isJsonObject(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (EMAIL_KEY.test(key) || key === '__proto__') continue;
    copy[key] = withoutEmails(field);
  }
  return copy;
}
