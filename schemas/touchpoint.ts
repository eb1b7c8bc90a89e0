import { z } from 'zod';

/** The channels a touchpoint can come through. Unknown channels are mapped to `other` by the collector. */
export const CHANNELS = ['web', 'mobile', 'email', 'social', 'search', 'ads', 'referral', 'store', 'support', 'direct', 'other'] as const;
export const Channel = z.enum(CHANNELS);
export type Channel = z.infer<typeof Channel>;

export const CALL_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export const CallType = z.enum(CALL_TYPES);
export type CallType = z.infer<typeof CallType>;

export const DEVICE_TYPES = ['desktop', 'mobile', 'tablet', 'server', 'other'] as const;
export const DeviceType = z.enum(DEVICE_TYPES);

const nullableString = z.string().nullable();
const epochMs = z.number().int();

/**
 * A touchpoint as the collector accepted it: the JSON form of `avro/touchpoint.v1.avsc`.
 * Invariant: at least one of userId / anonymousId is set.
 */
export const Touchpoint = z
  .object({
    messageId: z.string().min(1),
    type: CallType,
    event: z.string(),
    anonymousId: nullableString,
    userId: nullableString,
    previousId: nullableString,
    groupId: nullableString,
    emailHash: nullableString,
    source: z.string(),
    site: z.string(),
    channel: Channel,
    timestamp: epochMs,
    originalTimestamp: epochMs.nullable(),
    sentAt: epochMs.nullable(),
    receivedAt: epochMs,
    url: nullableString,
    path: nullableString,
    referrer: nullableString,
    utmSource: nullableString,
    utmMedium: nullableString,
    utmCampaign: nullableString,
    deviceType: DeviceType,
    deviceId: nullableString,
    segment: nullableString,
    revenue: z.number().nullable(),
    properties: z.string(),
  })
  .refine((t) => t.userId !== null || t.anonymousId !== null, { message: 'userId or anonymousId is required' });
export type Touchpoint = z.infer<typeof Touchpoint>;

/**
 * The key a touchpoint is partitioned by on the touchpoints topic: the device first
 * (anonymousId ?? userId). SDKs send the anonymousId on every call, before and after login, so a
 * device's anonymous history and the identify call that stitches it to a user are on ONE partition,
 * in order: the stitch always sees the history before it, whatever the timing between partitions.
 * Server-side calls (userId only) are keyed by the user. After identity resolution the sessionizer
 * re-keys everything by customer, so each customer's events are then in one ordered stream.
 */
export function identityKey(t: Pick<Touchpoint, 'userId' | 'anonymousId'>): string {
  return t.anonymousId ?? t.userId ?? '';
}
