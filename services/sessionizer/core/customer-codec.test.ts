import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CustomerCodec, type CustomerImage } from './customer-codec.js';
import { KeptEvents } from './kept-events.js';
import type { EventSummary } from './session-summary.js';

const one = (start: number, hash: number, event: string, url: string | null, channels: number, stage: number, converted: boolean): EventSummary => ({
  count: 1, start, firstHash: hash, site: 'shop.example', entryEvent: event, entryUrl: url, end: start, endHash: hash, exitEvent: event, exitUrl: url, channels, stage, converted,
});
const folded: EventSummary = {
  count: 3, start: 1000, firstHash: 11, site: 'shop.example', entryEvent: 'page', entryUrl: '/a', end: 2000, endHash: 12, exitEvent: 'track', exitUrl: null, channels: 3, stage: 1, converted: false,
};
const kept = [one(3000, 13, 'page', '/b', 1, -1, false), one(4000, 14, 'order_completed', null, 2, 4, true)];
const lone = one(9_000_000, 99, 'identify', '/c', 4, 0, false);

/** A customer with a folded session holding two kept events, and a session of one kept event. */
const image = (): CustomerImage => ({
  watermark: 9_000_500,
  clock: 42,
  accountId: 'acct-1',
  recentIds: [13, 3000, 14, 4000, 99, 9_000_000],
  sessions: [
    { id: 's_0000000000000b', folded: { ...folded }, recent: KeptEvents.of(kept), all: { ...folded, count: 5, end: 4000, endHash: 14, exitEvent: 'order_completed', channels: 3, stage: 4, converted: true } },
    { id: 's_00000000000063', folded: null, recent: KeptEvents.of([lone]), all: { ...lone } },
  ],
  bounded: true,
});

/** The same image as format 2 wrote it (the code before format 3), byte for byte. */
const FORMAT_2 =
  '0200000080c62a6141000000000000454007000000616363742d31030000000000000000002a40000000000070a7400000000000002c40000000000040af400000000000c0584000000000882a61410200000001030000000000000000408f4000000000000026400c00000073686f702e6578616d706c650400000070616765030000002f610000000000409f40000000000000284005000000747261636b00000000030001000200000001000000000000000070a7400000000000002a400c00000073686f702e6578616d706c650400000070616765030000002f62000000000070a7400000000000002a400400000070616765030000002f620100ff0001000000000000000040af400000000000002c400c00000073686f702e6578616d706c650f0000006f726465725f636f6d706c6574656400000000000000000040af400000000000002c400f0000006f726465725f636f6d706c65746564000000000200040100010000000100000000000000882a61410000000000c058400c00000073686f702e6578616d706c65080000006964656e74696679030000002f6300000000882a61410000000000c05840080000006964656e74696679030000002f630400000001';

/** What a decoded image holds, as plain data (kept events as summaries). */
const plain = (i: CustomerImage) => ({ ...i, sessions: i.sessions.map((s) => ({ folded: s.folded, recent: s.recent.toArray(), all: s.all })) });

describe('customer codec', () => {
  it('writes format 3: each kept event once, 28 bytes and two strings fewer than a summary', () => {
    const bytes = new CustomerCodec().encode(image());
    expect(bytes[0]).toBe(3);
    const fixture = Buffer.from(FORMAT_2, 'hex');
    // Three kept events: 3 × 28 bytes, and their exit strings ('page', '/b'; 'order_completed'; 'identify', '/c').
    expect(fixture.length - bytes.length).toBe(3 * 28 + (4 + 2) + 15 + (8 + 2));
    expect(plain(new CustomerCodec().decode(bytes))).toEqual(plain(image()));
  });

  it('reads a format-2 value byte for byte, and format 1 (the same without the flags byte)', () => {
    const v2 = Buffer.from(FORMAT_2, 'hex');
    const decoded = new CustomerCodec().decode(v2);
    expect(plain(decoded)).toEqual(plain(image()));
    expect(decoded.sessions.map((s) => s.id)).toEqual(['s_0000000000000b', 's_00000000000063']);
    // Written again, it is format 3 and decodes to the same.
    expect(plain(new CustomerCodec().decode(new CustomerCodec().encode(decoded)))).toEqual(plain(image()));

    const v1 = v2.subarray(0, v2.length - 1);
    v1[0] = 1;
    expect(plain(new CustomerCodec().decode(v1))).toEqual({ ...plain(image()), bounded: false });
  });

  it('round-trips kept events of any channels, stage and URL', () => {
    const event = fc
      .tuple(fc.integer({ min: 0, max: 2 ** 44 }), fc.integer({ min: 0, max: 2 ** 53 - 1 }), fc.string(), fc.option(fc.string()), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: -1, max: 6 }), fc.boolean())
      .map(([t, h, name, url, channels, stage, converted]) => one(t, h, name, url, channels, stage, converted));
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 8 }), (events) => {
        const sorted = [...events].sort((a, b) => a.start - b.start || a.firstHash - b.firstHash);
        const all = { ...sorted[0]! };
        const written: CustomerImage = { watermark: 1, clock: 2, accountId: null, recentIds: [], bounded: false, sessions: [{ id: 'x', folded: null, recent: KeptEvents.of(sorted), all }] };
        const read = new CustomerCodec().decode(new CustomerCodec().encode(written));
        expect(read.sessions[0]!.recent.toArray()).toEqual(sorted);
      }),
    );
  });

  it('a format-2 kept summary of several events is folded with those before it', () => {
    const codec = new CustomerCodec();
    // Format 2 of one session whose second kept summary holds two events.
    const v2 = Buffer.from(FORMAT_2, 'hex');
    const decoded = codec.decode(v2);
    expect(decoded.sessions[0]!.recent.length).toBe(2);
    const doubled = Buffer.from(v2);
    // The first kept summary's count (u32 LE) sits after format, watermark, clock, account, ids, session count, hasFolded and the folded summary.
    const at = v2.indexOf(Buffer.from('01000000000000000070a740', 'hex'));
    doubled.writeUInt32LE(2, at);
    const read = codec.decode(doubled);
    expect(read.sessions[0]!.folded!.count).toBe(5);
    expect(read.sessions[0]!.recent.toArray()).toEqual([kept[1]]);
    expect(read.sessions[0]!.all.count).toBe(6);
  });
});

describe('customer codec strings', () => {
  it('writes any string as UTF-8, an ASCII prefix by hand and the rest by the encoder', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })), fc.string(), (tail, head) => {
        const site = head + tail;
        const written: CustomerImage = { watermark: 1, clock: 2, accountId: site, recentIds: [], bounded: false, sessions: [] };
        const bytes = new CustomerCodec().encode(written);
        const expected = Buffer.from(site, 'utf8');
        // u8 format, f64 watermark, f64 clock, then the account id: u32 (length + 1) and its bytes.
        expect(Buffer.from(bytes).readUInt32LE(17)).toBe(expected.length + 1);
        expect(Buffer.from(bytes.subarray(21, 21 + expected.length))).toEqual(expected);
        expect(new CustomerCodec().decode(bytes).accountId).toBe(site);
      }),
    );
  });
});
