import { describe, expect, it } from 'vitest';
import { correctClockSkew, EARLIEST_TIMESTAMP_MS, MAX_FUTURE_MS } from './clock-skew.js';

const receivedAt = Date.UTC(2024, 4, 1, 12, 0, 0);
const minute = 60_000;

describe('correctClockSkew', () => {
  it('re-anchors the device time on the collector clock: receivedAt − (sentAt − originalTimestamp)', () => {
    // The device clock is 2 hours behind; the event happened 5 minutes before the upload.
    const deviceNow = receivedAt - 120 * minute;
    const outcome = correctClockSkew({ timestamp: null, originalTimestamp: deviceNow - 5 * minute, sentAt: deviceNow }, receivedAt);
    expect(outcome).toEqual({
      ok: true,
      times: { timestamp: receivedAt - 5 * minute, originalTimestamp: deviceNow - 5 * minute, sentAt: deviceNow, receivedAt },
    });
  });

  it('uses the client timestamp as the device time when no originalTimestamp is sent (analytics.js)', () => {
    const outcome = correctClockSkew({ timestamp: receivedAt + 60 * minute, originalTimestamp: null, sentAt: receivedAt + 61 * minute }, receivedAt);
    expect(outcome).toMatchObject({ ok: true, times: { timestamp: receivedAt - minute, originalTimestamp: receivedAt + 60 * minute } });
  });

  it('prefers originalTimestamp over timestamp when both are sent', () => {
    const outcome = correctClockSkew({ timestamp: 1, originalTimestamp: receivedAt - 2 * minute, sentAt: receivedAt }, receivedAt);
    expect(outcome).toMatchObject({ ok: true, times: { timestamp: receivedAt - 2 * minute } });
  });

  it('keeps the device time as-is when there is no sentAt to measure skew with', () => {
    const outcome = correctClockSkew({ timestamp: receivedAt - 10 * minute, originalTimestamp: null, sentAt: null }, receivedAt);
    expect(outcome).toMatchObject({ ok: true, times: { timestamp: receivedAt - 10 * minute, sentAt: null } });
  });

  it('uses receivedAt when the client sent no time at all', () => {
    const outcome = correctClockSkew({ timestamp: null, originalTimestamp: null, sentAt: null }, receivedAt);
    expect(outcome).toEqual({ ok: true, times: { timestamp: receivedAt, originalTimestamp: null, sentAt: null, receivedAt } });
  });

  it('refuses, rather than clamps, a corrected time more than 30 days in the future', () => {
    const outcome = correctClockSkew({ timestamp: receivedAt + MAX_FUTURE_MS + 1, originalTimestamp: null, sentAt: null }, receivedAt);
    expect(outcome).toEqual({ ok: false, reason: expect.stringContaining('more than 30 days after receivedAt') });
    expect(correctClockSkew({ timestamp: receivedAt + MAX_FUTURE_MS, originalTimestamp: null, sentAt: null }, receivedAt).ok).toBe(true);
  });

  it('refuses a corrected time before 2000', () => {
    const outcome = correctClockSkew({ timestamp: EARLIEST_TIMESTAMP_MS - 1, originalTimestamp: null, sentAt: null }, receivedAt);
    expect(outcome).toEqual({ ok: false, reason: expect.stringContaining('before 2000-01-01') });
  });

  it('accepts a device whose clock says 1970 when sentAt shows it is just skew', () => {
    const outcome = correctClockSkew({ timestamp: null, originalTimestamp: 1_000, sentAt: 61_000 }, receivedAt);
    expect(outcome).toMatchObject({ ok: true, times: { timestamp: receivedAt - minute } });
  });
});
