import { CALL_TYPES, CHANNELS, DEVICE_TYPES } from './touchpoint.js';

/**
 * Whether `value` passes the zod type `JourneyRecord` (journey.ts), decided field by field without
 * zod. The journey step checks every decoded record of identified-touchpoints; zod's check built a
 * copy of the record and its touchpoint on the way (~3 KB of short-lived objects per record, a fifth
 * of what the journey processor allocated per touchpoint, docs/performance.md). True only when zod
 * would accept; false sends the value to zod, which decides and words the reason
 * (`checkedCodec`). journey-record-check.test.ts holds the two equal on generated envelopes.
 */
export function wellFormedJourneyRecord(value: unknown): boolean {
  if (!isRecord(value)) return false;
  const { kind, customerId, touchpoint, mergeInto, mergedFrom, state } = value;
  if (kind === 'watermark') {
    return customerId === '' && touchpoint === null && mergeInto === null && mergedFrom === null && state === null && isSource(value.source) && isNullableNumber(value.sourceWatermark) && isNullishNumber(value.inputOffset);
  }
  if (!isKey(customerId) || !wellPlaced(value)) return false;
  switch (kind) {
    case 'touchpoint':
      return mergeInto === null && mergedFrom === null && state === null && wellFormedCustomerTouchpoint(touchpoint);
    case 'merge':
      return touchpoint === null && mergedFrom === null && state === null && isKey(mergeInto) && mergeInto !== customerId;
    case 'absorbing':
      return touchpoint === null && mergeInto === null && state === null && isKey(mergedFrom) && mergedFrom !== customerId;
    case 'transfer':
      return touchpoint === null && mergeInto === null && (state === null || state instanceof Buffer) && isKey(mergedFrom) && mergedFrom !== customerId;
    case 'forget':
      return touchpoint === null && mergeInto === null && mergedFrom === null && state === null;
    default:
      return false;
  }
}

const callTypes: ReadonlySet<unknown> = new Set(CALL_TYPES);
const channels: ReadonlySet<unknown> = new Set(CHANNELS);
const deviceTypes: ReadonlySet<unknown> = new Set(DEVICE_TYPES);

// zod's object types take any non-null object that is not an array.
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isKey = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
// z.number() refuses NaN and the infinities; .int() takes safe integers only.
const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const isInteger = (v: unknown) => Number.isSafeInteger(v);
const isNullableNumber = (v: unknown) => v === null || isNumber(v);
const isNullishNumber = (v: unknown) => v === undefined || isNullableNumber(v);
const isNullableString = (v: unknown) => v === null || typeof v === 'string';
const isNullableInteger = (v: unknown) => v === null || isInteger(v);
const isSource = (v: unknown) => isInteger(v) && (v as number) >= 0;

/** The position fields of every kind but a watermark: each absent, null or a number (`source` a partition). */
function wellPlaced(r: Record<string, unknown>): boolean {
  return (r.source === undefined || r.source === null || isSource(r.source)) && isNullishNumber(r.sourceWatermark) && isNullishNumber(r.inputOffset);
}

function wellFormedCustomerTouchpoint(v: unknown): boolean {
  return isRecord(v) && typeof v.customerId === 'string' && isNullableString(v.accountId) && typeof v.sessionId === 'string' && typeof v.late === 'boolean' && wellFormedTouchpoint(v.touchpoint);
}

function wellFormedTouchpoint(v: unknown): boolean {
  if (!isRecord(v)) return false;
  return (
    isKey(v.messageId) &&
    callTypes.has(v.type) &&
    typeof v.event === 'string' &&
    isNullableString(v.anonymousId) &&
    isNullableString(v.userId) &&
    isNullableString(v.previousId) &&
    isNullableString(v.groupId) &&
    isNullableString(v.emailHash) &&
    typeof v.source === 'string' &&
    typeof v.site === 'string' &&
    channels.has(v.channel) &&
    isInteger(v.timestamp) &&
    isNullableInteger(v.originalTimestamp) &&
    isNullableInteger(v.sentAt) &&
    isInteger(v.receivedAt) &&
    isNullableString(v.url) &&
    isNullableString(v.path) &&
    isNullableString(v.referrer) &&
    isNullableString(v.utmSource) &&
    isNullableString(v.utmMedium) &&
    isNullableString(v.utmCampaign) &&
    deviceTypes.has(v.deviceType) &&
    isNullableString(v.deviceId) &&
    isNullableString(v.segment) &&
    isNullableNumber(v.revenue) &&
    typeof v.properties === 'string' &&
    (v.userId !== null || v.anonymousId !== null)
  );
}
