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
 * The value without email fields, at any depth. Raw emails never leave the collector (not to Kafka,
 * not to the dead-letter topic, not to logs), whether or not the source opted into hashing them.
 * Copies only the objects and arrays on the way to a removed field: most events have none, and
 * are returned as they are (the caller only serializes the result).
 */
export function withoutEmails(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const kept = withoutEmails(item);
      if (copy === null && kept !== item) copy = value.slice(0, i);
      if (copy !== null) copy.push(kept);
    }
    return copy ?? value;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  let copy: Record<string, unknown> | null = null;
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    const field = object[key];
    const removed = isEmailKey(key) || key === '__proto__';
    const kept = removed ? undefined : withoutEmails(field);
    if (copy === null && (removed || kept !== field)) {
      // The first change: copy the fields before it (none of them changed).
      copy = {};
      for (let i = 0; i < k; i++) copy[keys[i]!] = object[keys[i]!];
    }
    if (copy !== null && !removed) copy[key] = kept;
  }
  return copy ?? object;
}

function isEmailKey(key: string): boolean {
  const first = key.charCodeAt(0);
  return (first === 0x65 || first === 0x45) /* e, E */ && EMAIL_KEY.test(key);
}
