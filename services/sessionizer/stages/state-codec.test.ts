import { describe, expect, it } from 'vitest';
import { newJourneyState, type JourneyState } from './journey-state.js';
import { decodeJourneyState, encodeJourneyState, JOURNEY_HEADER_BYTES, readJourneyHeader, SnapshotError, withKeyId, withoutKeyId } from './state-codec.js';

const full = (): JourneyState => ({
  ...newJourneyState('cust-1', 'acct-9'),
  stage: 'retention',
  enteredAt: 1_700_000_000_123,
  previousStage: 'purchase',
  furthestStage: 'retention',
  journeyNumber: 2,
  referrerCustomerId: 'cust-0',
  msInStage: [1, 2.5, 3, 0, 0],
  entryMessageId: 'm-1',
  entryDims: { site: 'shop', channel: 'email', campaign: null, deviceType: 'mobile', segment: 'vip' },
  conversionDeadline: 1_700_600_000_000,
  purchases: { firstAt: 1_690_000_000_000, lastAt: 1_699_000_000_000, repeatCount: 3 },
  lastActivityAt: 1_700_000_000_123,
  lastEngagedAt: 1_700_000_000_000,
  lastMessageId: 'm-2',
  lastDims: { site: 'shop', channel: 'direct', campaign: 'spring', deviceType: 'desktop', segment: null },
  signals: {
    complaints: { n: 1.25, at: 5 },
    lowFeedback: { n: 0, at: 0 },
    paymentFailures: { n: 2, at: 7 },
    cancellationIntent: { n: 0, at: 0 },
    cancelled: { n: 0, at: 0 },
    cartOpenedAt: null,
    lastNps: 6,
    lastRating: null,
    activity: [
      [19_000, 3],
      [19_001, 1],
    ],
  },
  churn: { scoredAt: 10, emittedScore: 0.42, emittedAction: 'winback-email', emittedAt: 10 },
  entered: true,
  opened: false,
});

describe('journey state codec', () => {
  it('round-trips a full state and a new one (optional flags absent stay absent)', () => {
    expect(decodeJourneyState(encodeJourneyState(full()))).toEqual(full());
    const fresh = newJourneyState('c');
    delete fresh.entered;
    const back = decodeJourneyState(encodeJourneyState(fresh));
    expect(back).toEqual(fresh);
    expect('entered' in back).toBe(false);
  });

  it('format 3 carries the stage, due time, last activity and schedule fingerprint before the same Avro body', () => {
    const withHeader = encodeJourneyState(full(), { at: 1_700_600_000_001, schedule: 0xdeadbeef });
    expect(decodeJourneyState(withHeader)).toEqual(full());
    expect(readJourneyHeader(withHeader)).toEqual({ stage: 'retention', dueAt: 1_700_600_000_001, lastActivityAt: 1_700_000_000_123, schedule: 0xdeadbeef });
    expect(withHeader.subarray(JOURNEY_HEADER_BYTES)).toEqual(Buffer.from(encodeJourneyState(full()).subarray(1)));
    const fresh = encodeJourneyState(newJourneyState('c'), { at: null, schedule: 1 });
    expect(readJourneyHeader(fresh)).toEqual({ stage: null, dueAt: null, lastActivityAt: null, schedule: 1 });
    expect(() => decodeJourneyState(withHeader.subarray(0, JOURNEY_HEADER_BYTES - 1))).toThrow(SnapshotError);
  });

  it('format 2 (written before the header, and for merge transfers) has no header and still decodes', () => {
    const before = encodeJourneyState(full());
    expect(before[0]).toBe(0x02);
    expect(readJourneyHeader(before)).toBeNull();
    expect(decodeJourneyState(before)).toEqual(full());
  });

  it('reads the JSON format written before (format 1)', () => {
    const json = new TextEncoder().encode(JSON.stringify({ v: 1, state: full() }));
    expect(decodeJourneyState(json)).toEqual(full());
  });

  it('is much smaller than the JSON format', () => {
    const binary = encodeJourneyState(full()).length;
    const json = JSON.stringify({ v: 1, state: full() }).length;
    expect(binary * 2).toBeLessThan(json);
  });

  it('refuses a foreign, truncated or padded value', () => {
    const good = encodeJourneyState(full());
    expect(() => decodeJourneyState(new Uint8Array([0xff, 0xfe]))).toThrow(SnapshotError);
    expect(() => decodeJourneyState(good.subarray(0, good.length - 5))).toThrow(SnapshotError);
    expect(() => decodeJourneyState(new Uint8Array([...good, 0]))).toThrow(SnapshotError);
    expect(() => decodeJourneyState(new Uint8Array())).toThrow(SnapshotError);
  });

  describe('a kept value without its customer id (the key it is kept under)', () => {
    const value = (customerId: string) => encodeJourneyState({ ...full(), customerId }, { at: 1_700_000_000_000, schedule: 7 });

    it('leaves out an id equal to the key and puts it back byte for byte', () => {
      for (const id of ['u:bench-12345', '', 'x'.repeat(63), 'x'.repeat(64), 'a:'.repeat(3_000)]) {
        const v = value(id);
        const keyless = Buffer.from(withoutKeyId(v, id));
        // The id and its length (one varint byte up to 63 characters, two up to 8,191) become one byte.
        expect(keyless.length).toBe(v.length - id.length - (id.length < 64 ? 1 : 2) + 1);
        expect(keyless.subarray(0, JOURNEY_HEADER_BYTES)).toEqual(v.subarray(0, JOURNEY_HEADER_BYTES));
        expect(readJourneyHeader(keyless)).toEqual(readJourneyHeader(v));
        expect(Buffer.from(withKeyId(keyless, id))).toEqual(v);
        expect(decodeJourneyState(withKeyId(keyless, id)).customerId).toBe(id);
      }
    });

    it('keeps the value whole when its id is not the key, is not ASCII, or the value has no header', () => {
      const v = value('u:bench-1');
      expect(withoutKeyId(v, 'u:bench-2')).toBe(v);
      expect(withoutKeyId(v, 'u:bench-')).toBe(v);
      expect(withoutKeyId(v, 'u:bench-10')).toBe(v);
      const accented = value('u:zoë');
      expect(withoutKeyId(accented, 'u:zoë')).toBe(accented);
      const transfer = encodeJourneyState(full());
      expect(withoutKeyId(transfer, full().customerId)).toBe(transfer);
      // A whole value is given back as it is.
      expect(withKeyId(v, 'u:bench-2')).toBe(v);
      expect(withKeyId(transfer, 'cust-1')).toBe(transfer);
    });
  });
});
