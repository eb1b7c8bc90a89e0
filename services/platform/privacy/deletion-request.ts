import { z } from 'zod';
import type { Touchpoint } from '../../../schemas/touchpoint.js';
import { hashEmail } from '../segment/email.js';

/**
 * The namespaced ids a touchpoint names, as the identity graph spells them (`u:`, `a:`, `e:`:
 * services/sessionizer/core/identity.ts, checked equal by deletion-request.test.ts). An alias's
 * previousId may be either an anonymous or a user id, so both readings count.
 */
export function touchpointIds(tp: Pick<Touchpoint, 'userId' | 'anonymousId' | 'emailHash' | 'previousId'>): Array<string | null> {
  return [
    tp.userId === null ? null : `u:${tp.userId}`,
    tp.anonymousId === null ? null : `a:${tp.anonymousId}`,
    tp.emailHash === null ? null : `e:${tp.emailHash}`,
    tp.previousId === null ? null : `a:${tp.previousId}`,
    tp.previousId === null ? null : `u:${tp.previousId}`,
  ];
}

export const ID_KINDS = ['userId', 'anonymousId', 'email', 'customerId'] as const;
export type IdKind = (typeof ID_KINDS)[number];

const printable = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\p{Cc}]+$/u, 'expected printable text');

/** A deletion as asked for (CLI or admin API): one id of the customer, and whether to suppress them from now on. */
export const DeletionAsk = z.strictObject({
  kind: z.enum(ID_KINDS),
  id: printable,
  suppress: z.boolean().default(false),
  /** Who asked (an admin key's name, `cli:<os user>`): kept with the deletion for its audit trail. */
  requestedBy: z.string().min(1).max(128),
});
export type DeletionAsk = z.infer<typeof DeletionAsk>;

export class InvalidIdError extends Error {
  readonly retriable = false;
}

/**
 * The namespaced id a deletion starts from. An email is hashed exactly as the collector hashes it
 * (platform/segment/email.ts), so it finds the `e:` node a source with hashEmails linked; the raw
 * address goes no further. A customer id is already namespaced.
 */
export function namespacedIdOf(ask: Pick<DeletionAsk, 'kind' | 'id'>): string {
  switch (ask.kind) {
    case 'userId':
      return `u:${ask.id}`;
    case 'anonymousId':
      return `a:${ask.id}`;
    case 'email': {
      const hashed = hashEmail(ask.id);
      if (hashed === null || !ask.id.includes('@')) throw new InvalidIdError('id: expected an email address');
      return `e:${hashed}`;
    }
    case 'customerId':
      if (!/^[uae]:./.test(ask.id)) throw new InvalidIdError('id: a customer id starts with u:, a: or e:');
      return ask.id;
  }
}

export const DELETION_STATUSES = ['pending', 'done', 'not_found'] as const;
export type DeletionStatus = (typeof DELETION_STATUSES)[number];
