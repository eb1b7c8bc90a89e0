import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { bundleHeaders, decodeBundle, encodeBundle, MalformedBundleError, membersOf, type BundleMember } from './record-bundle.js';

const message = (value: Buffer | null, headers: KafkaMessage['headers'] = {}): KafkaMessage => ({ key: null, value, timestamp: '1700000000000', attributes: 0, offset: '42', headers });

describe('record bundles', () => {
  it('give back every member, keys and values byte for byte, nulls included, in order', () => {
    const member = fc.record({
      key: fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }), { nil: null }),
      value: fc.option(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), { nil: null }),
    });
    fc.assert(
      fc.property(fc.array(member, { maxLength: 60 }), (members: BundleMember[]) => {
        const back = decodeBundle(encodeBundle(members));
        expect(back.map((m) => ({ key: m.key === null ? null : m.key.toString('utf8'), value: m.value === null ? null : Buffer.from(m.value) }))).toEqual(members);
      }),
    );
  });

  it('hold members whose lengths need multi-byte varints', () => {
    const big = Buffer.alloc(300_000, 7);
    const [back] = decodeBundle(encodeBundle([{ key: 'k'.repeat(200), value: big }]));
    expect(back!.key!.toString()).toBe('k'.repeat(200));
    expect(back!.value!.equals(big)).toBe(true);
  });

  it('refuse truncated, padded and absurd bundles with a MalformedBundleError', () => {
    const good = encodeBundle([{ key: 'a', value: Buffer.from('hello') }, { key: 'b', value: Buffer.from('world') }]);
    expect(() => decodeBundle(good.subarray(0, good.length - 2))).toThrow(MalformedBundleError);
    expect(() => decodeBundle(Buffer.concat([good, Buffer.from([0])]))).toThrow(MalformedBundleError);
    expect(() => decodeBundle(Buffer.from([0xff, 0xff, 0xff, 0x7f]))).toThrow(MalformedBundleError);
    expect(() => decodeBundle(Buffer.alloc(0))).toThrow(MalformedBundleError);
  });

  it('membersOf: a plain record is its own only member; a bundle gives its members with its offset and timestamp', () => {
    const plain = message(Buffer.from('x'));
    expect(membersOf(plain)).toEqual([plain]);
    const bundle = message(encodeBundle([{ key: 'c1', value: Buffer.from('one') }, { key: null, value: null }]), bundleHeaders());
    const members = membersOf(bundle);
    expect(members.map((m) => [m.key?.toString() ?? null, m.value?.toString() ?? null, m.offset, m.timestamp])).toEqual([
      ['c1', 'one', '42', '1700000000000'],
      [null, null, '42', '1700000000000'],
    ]);
    // kafkajs hands headers as Buffers.
    const fetched = message(encodeBundle([{ key: 'k', value: Buffer.from('v') }]), { 'jp-bundle': Buffer.from('1') });
    expect(membersOf(fetched)).toHaveLength(1);
    expect(() => membersOf(message(null, bundleHeaders()))).toThrow(MalformedBundleError);
  });
});
