import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { withoutEmails } from './email.js';

/** The rule as a plain deep copy: every object and array copied, email fields and __proto__ left out. */
function copiedWithoutEmails(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copiedWithoutEmails);
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (/^e[-_]?mail(?:[-_]?address)?$/i.test(key) || key === '__proto__') continue;
    copy[key] = copiedWithoutEmails(field);
  }
  return copy;
}

const emailKey = fc.constantFrom('email', 'Email', 'e-mail', 'email_address', 'emailAddress', 'E_MAIL', 'emails', 'mail', 'user_email');
const key = fc.oneof(fc.string({ maxLength: 4 }), emailKey);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 0 }), fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(key, tie('value'), { maxKeys: 4 })),
}));

describe('withoutEmails', () => {
  it('serializes exactly as a deep copy without email fields would, and never changes its input', () => {
    fc.assert(
      fc.property(value, (input) => {
        const before = JSON.stringify(input);
        expect(JSON.stringify(withoutEmails(input))).toBe(JSON.stringify(copiedWithoutEmails(input)));
        expect(JSON.stringify(input)).toBe(before);
      }),
      { numRuns: 2_000 },
    );
  });

  it('returns a value without email fields as it is, copying only what it changes', () => {
    const clean = { a: { b: [1, { c: 'x' }] }, mail: 'not an email key' };
    expect(withoutEmails(clean)).toBe(clean);
    const input = { keep: { same: true }, nested: { list: [{ email: 'jane@example.com', id: 1 }] } };
    const result = withoutEmails(input) as typeof input;
    expect(result).toEqual({ keep: { same: true }, nested: { list: [{ id: 1 }] } });
    expect(result.keep).toBe(input.keep);
    expect(input.nested.list[0]!.email).toBe('jane@example.com');
  });
});
