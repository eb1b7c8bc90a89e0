import { createRequire } from 'node:module';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KAFKAJS_GROUPING_MODULE, KAFKAJS_PRODUCE_V3_MODULE, kafkajsOwnProduceRequest } from './kafkajs-patches.js';
import { crc32c } from './crc32c.js';
import { groupMessagesPerPartition } from './linear-grouping.js';
import { encodeProduceRequest, type ProduceRequestArgs } from './produce-request.js';
// After the patches (the order every module that loads kafkajs keeps): its producer loads with them.
import './producer.js';

const require = createRequire(import.meta.url);
const Long = require('kafkajs/src/utils/long') as { fromValue(v: unknown): unknown };
const kafkajsCrc32C = require('kafkajs/src/protocol/recordBatch/crc32C') as (b: Buffer) => number;

const bytes = fc.oneof(fc.constant(null), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)));
const headerValue = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)));
const message = fc.record(
  {
    key: bytes,
    value: bytes,
    headers: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 })), { maxKeys: 3 }),
  },
  { requiredKeys: ['key', 'value'] },
);
const request: fc.Arbitrary<ProduceRequestArgs> = fc.record({
  acks: fc.constantFrom(-1, 0, 1),
  timeout: fc.nat(60_000),
  transactionalId: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: null }),
  producerId: fc.oneof(fc.bigInt({ min: -1n, max: 2n ** 62n }).map((n) => Long.fromValue(n.toString())), fc.integer({ min: -1, max: 2 ** 31 - 1 })),
  producerEpoch: fc.nat(32_767),
  topicData: fc.array(
    fc.record({
      topic: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
      partitions: fc.array(fc.record({ partition: fc.nat(64), firstSequence: fc.nat(2 ** 31 - 1), messages: fc.array(message, { maxLength: 40 }) }), { minLength: 1, maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

describe('the produce request written in one buffer', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is byte for byte what kafkajs encodes (any keys, values, headers, topics, partitions, producer ids; uncompressed, no message timestamps)', async () => {
    await fc.assert(
      fc.asyncProperty(request, fc.integer({ min: 0, max: 2 ** 42 }), async (args, now) => {
        vi.spyOn(Date, 'now').mockReturnValue(now);
        const theirs = await kafkajsOwnProduceRequest()(args).encode();
        expect(encodeProduceRequest(args, () => now).equals(theirs.buf.subarray(0, theirs.offset))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('checksums as kafkajs does, at any length and offset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2_000 }), fc.nat(20), (a, skip) => {
        const buf = Buffer.from(a);
        const from = Math.min(skip, buf.length);
        expect(crc32c(buf, from)).toBe(kafkajsCrc32C(buf.subarray(from)));
      }),
    );
  });

  it('is what kafkajs’ producer loads, with the linear grouping', () => {
    expect(require(KAFKAJS_GROUPING_MODULE)).toBe(groupMessagesPerPartition);
    expect(require(KAFKAJS_PRODUCE_V3_MODULE)).not.toBe(kafkajsOwnProduceRequest());
    expect(require.cache[require.resolve('kafkajs/src/producer/sendMessages.js')]).toBeDefined();
  });
});
