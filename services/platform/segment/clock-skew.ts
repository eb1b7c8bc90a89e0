/**
 * Device clocks are wrong; the collector's is not. Segment's correction keeps the device's
 * *relative* timing and re-anchors it on the collector's clock:
 *
 *   timestamp = receivedAt − (sentAt − originalTimestamp)
 *
 * where originalTimestamp is the device time of the event (the client's `originalTimestamp`, or its
 * `timestamp` when that is all it sent) and sentAt is the device time of the upload.
 * Nothing is clamped: an event whose corrected time is absurd is refused with a reason.
 */

const DAY_MS = 24 * 60 * 60 * 1000;
/** Corrected times further ahead of receivedAt than this are a broken client, not clock skew. */
export const MAX_FUTURE_MS = 30 * DAY_MS;
/** No journey in this pipeline predates this; earlier times are uninitialised device clocks. */
export const EARLIEST_TIMESTAMP_MS = Date.UTC(2000, 0, 1);

export interface ClientTimes {
  timestamp: number | null;
  originalTimestamp: number | null;
  sentAt: number | null;
}

export interface EventTimes {
  /** Event time on the collector's clock: what the pipeline orders and windows by. */
  timestamp: number;
  /** Device time of the event as sent (null when the client sent none). */
  originalTimestamp: number | null;
  sentAt: number | null;
  receivedAt: number;
}

export type EventTimesOutcome = { ok: true; times: EventTimes } | { ok: false; reason: string };

export function correctClockSkew(client: ClientTimes, receivedAt: number): EventTimesOutcome {
  const deviceTime = client.originalTimestamp ?? client.timestamp;
  const timestamp =
    deviceTime === null ? receivedAt : client.sentAt === null ? deviceTime : receivedAt - (client.sentAt - deviceTime);

  if (timestamp > receivedAt + MAX_FUTURE_MS) {
    return { ok: false, reason: 'timestamp is more than 30 days after receivedAt (after clock-skew correction)' };
  }
  if (timestamp < EARLIEST_TIMESTAMP_MS) {
    return { ok: false, reason: 'timestamp is before 2000-01-01 (after clock-skew correction)' };
  }
  return { ok: true, times: { timestamp, originalTimestamp: deviceTime, sentAt: client.sentAt, receivedAt } };
}
