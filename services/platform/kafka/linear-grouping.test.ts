import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { groupMessagesPerPartition } from './linear-grouping.js';

/** kafkajs 2.2's own grouping, as its producer/groupMessagesPerPartition.js has it (quadratic). */
function kafkajsGrouping({ topic, partitionMetadata, messages, partitioner }: Parameters<typeof groupMessagesPerPartition<{ p: number; i: number }>>[0]) {
  if (partitionMetadata.length === 0) return {};
  return messages.reduce<Record<number, Array<{ p: number; i: number }>>>((result, message) => {
    const partition = partitioner({ topic, partitionMetadata, message });
    const current = result[partition] || [];
    return Object.assign(result, { [partition]: [...current, message] });
  }, {});
}

describe('groupMessagesPerPartition', () => {
  it('groups as kafkajs does: each partition’s messages in send order, no empty partitions, {} without metadata', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(7)), fc.nat(8), (partitions, known) => {
        const input = {
          topic: 't',
          partitionMetadata: Array.from({ length: known }, (_, i) => ({ partitionId: i })),
          messages: partitions.map((p, i) => ({ p, i })),
          partitioner: ({ message }: { message: { p: number } }) => message.p,
        };
        expect(groupMessagesPerPartition(input)).toEqual(kafkajsGrouping(input));
      }),
    );
  });
});
