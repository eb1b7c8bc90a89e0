import fc from 'fast-check';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Partitioners } from 'kafkajs';
import { murmur2 } from './murmur2.js';
import { journeyPartitioner, partitionOfKey } from './partition-of-key.js';

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: string | Buffer) => number;

describe('murmur2', () => {
  it('is the hash kafkajs (and the Java client) computes, for any string or bytes', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (key) => {
      expect(murmur2(key)).toBe(kafkajsMurmur2(key));
    }), { numRuns: 2_000 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      expect(murmur2(Buffer.from(bytes))).toBe(kafkajsMurmur2(Buffer.from(bytes)));
    }), { numRuns: 1_000 });
  });

  it('matches known values of the Java client', () => {
    // Kafka's UtilsTest.testMurmur2 vectors.
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(Buffer.from([97, 98, 99]))).toBe(479470107);
  });
});

describe('journeyPartitioner', () => {
  it('places every keyed record where kafkajs’ DefaultPartitioner does, and keeps explicit partitions', () => {
    const ours = journeyPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.integer({ min: 1, max: 64 }), (key, partitions) => {
        const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], offlineReplicas: [], partitionErrorCode: 0 }));
        const args = { topic: 't', partitionMetadata, message: { key, value: null } };
        expect(ours(args)).toBe(theirs(args));
        expect(partitionOfKey('t', key, partitions)).toBe(theirs(args));
      }),
    );
    expect(ours({ topic: 't', partitionMetadata: [], message: { key: 'k', value: null, partition: 3 } })).toBe(3);
  });
});
